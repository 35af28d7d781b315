import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig } from '../lib/config.js';
import { GitHubApiError, GitHubClient } from '../lib/github/client.js';
import { compileRules } from '../lib/mirror/select.js';
import { listSources } from '../lib/mirror/sources.js';
import { type Replay, startReplay } from './fixtures/replay-github.js';

// The project's GitHub client against exchanges recorded from the real GitHub (@octokit/fixtures)
const test = suite('GitHub client: recorded exchanges with the real GitHub');
const TOKEN = '0000000000000000000000000000000000000001';

let replay: Replay | undefined;
test.after.each(async () => {
  await replay?.close();
  replay = undefined;
});

async function clientFor(scenario: string): Promise<{ client: GitHubClient; replay: Replay }> {
  replay = await startReplay(scenario);
  return { client: new GitHubClient(replay.url, TOKEN), replay };
}

const rulesFor = (repos: string[]) => compileRules(parseConfig({ mirror: { repos } }, 'test').mirror);

test('get-repository: a single repository selected for mirroring reads as GitHub answered it', async () => {
  const { client, replay } = await clientFor('get-repository');
  const { selected, problems } = await listSources(client, rulesFor(['octokit-fixture-org/hello-world']), TOKEN);
  assert.equal(problems, []);
  assert.equal(
    selected.map((s) => [s.source.owner, s.source.name, s.source.private, s.source.defaultBranch, s.source.cloneUrl]),
    [['octokit-fixture-org', 'hello-world', false, 'master', 'https://github.com/octokit-fixture-org/hello-world.git']],
  );
  assert.ok(Date.parse(selected[0]!.source.pushedAt) > 0, 'pushed_at read');
  assert.equal([replay.unmatched, replay.remaining()], [[], []]);
});

test('rename-repository: the old name is followed through the 301 and named as renamed, not as missing', async () => {
  const { client, replay } = await clientFor('rename-repository');
  const { selected, problems } = await listSources(client, rulesFor(['octokit-fixture-org/rename-repository']), TOKEN);
  assert.equal(selected, []);
  assert.equal(problems, ['octokit-fixture-org/rename-repository: renamed on GitHub to octokit-fixture-org/rename-repository-newname: update the config']);
  assert.equal(replay.unmatched, []);
  assert.is(replay.served, 2, 'the 301 and the repository it points at');
});

test('paginate-issues: a list follows the Link header of every page to the end', async () => {
  const { client, replay } = await clientFor('paginate-issues');
  const issues = await client.list('GET /repos/{owner}/{repo}/issues', { owner: 'octokit-fixture-org', repo: 'paginate-issues', per_page: 3 });
  assert.equal(
    issues.map((i) => i.number),
    [13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
  );
  assert.equal([replay.unmatched, replay.remaining()], [[], []]);
  assert.is(client.stats.requests, 5);
});

test('errors: a 422 is reported with GitHub’s message, once (not retried)', async () => {
  const { client, replay } = await clientFor('errors');
  try {
    await client.write('POST /repos/{owner}/{repo}/labels', { owner: 'octokit-fixture-org', repo: 'errors', name: 'foo', color: 'invalid' });
    assert.unreachable('a 422 throws');
  } catch (error) {
    assert.instance(error, GitHubApiError);
    assert.is((error as GitHubApiError).status, 422);
    assert.match((error as Error).message, 'GitHub answered 422 to POST /repos/octokit-fixture-org/errors/labels: Validation Failed');
  }
  assert.equal([replay.unmatched, replay.served], [[], 1]);
});

test.run();
