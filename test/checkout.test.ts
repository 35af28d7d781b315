import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CheckoutError, checkout } from '../lib/agent/checkout.js';
import { startFakeGitea } from './fixtures/fake-gitea.js';
import { commitFiles, git } from './fixtures/git.js';

const test = suite('checkout: a job’s commit into its working copy (real git)');
let dir: string;
let repo: string;
let sha: string;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-checkout-'));
  repo = join(dir, 'source');
  sha = commitFiles(repo, { 'README.md': 'hello\n' });
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const into = (name: string, at: string | undefined) =>
  checkout({ repo, ref: 'refs/heads/main', sha: at, dir: join(dir, name), signal: AbortSignal.timeout(30_000), log: () => {} });

test('the commit is checked out, detached, with its files', async () => {
  assert.equal(await into('work', sha), { sha });
  assert.ok(existsSync(join(dir, 'work', 'README.md')));
  assert.is(git(join(dir, 'work'), 'rev-parse', '--abbrev-ref', 'HEAD'), 'HEAD');
});

test('a commit that looks like an option is taken as a revision, never as an option to git', async () => {
  try {
    await into('evil', '--orphan=evil');
    assert.unreachable('no such revision');
  } catch (error) {
    assert.instance(error, CheckoutError);
    assert.match((error as Error).message, /cannot check out --orphan=evil: fatal: invalid reference: --orphan=evil/);
  }
  assert.not.match(git(join(dir, 'evil'), 'branch', '--list'), 'evil', 'no branch was made');
});

test("the read token goes to the farm's Gitea only, which refuses a fetch without it", async () => {
  const gitea = await startFakeGitea();
  const seen: IncomingHttpHeaders[] = [];
  const elsewhere = createServer((req, res) => (seen.push(req.headers), res.writeHead(404).end())).listen(0, '127.0.0.1');
  try {
    const api = (path: string, body: object) =>
      fetch(`${gitea.url}/api/v1${path}`, {
        method: 'POST',
        headers: { authorization: `token ${gitea.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await api('/orgs', { username: 'mirrors' });
    assert.is((await api('/repos/migrate', { clone_addr: repo, repo_owner: 'mirrors', repo_name: 'api', mirror: true, service: 'git' })).status, 201);
    const url = `${gitea.url}/mirrors/api.git`;
    const credential = { url: `${gitea.url}/`, header: `Authorization: token ${gitea.token}` };
    const fetchInto = (name: string, from: string, given?: typeof credential) =>
      checkout({ repo: from, ref: 'HEAD', dir: join(dir, name), signal: AbortSignal.timeout(30_000), log: () => {}, credential: given });
    assert.equal(await fetchInto('with-token', url, credential), { sha });
    await fetchInto('without-token', url).then(
      () => assert.unreachable('Gitea requires sign-in to read (REQUIRE_SIGNIN_VIEW)'),
      (error: Error) => assert.match(error.message, 'cannot fetch HEAD'),
    );
    const other = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/mirrors/api.git`;
    await fetchInto('other-host', other, credential).catch(() => {});
    assert.ok(seen.length > 0, 'git asked the other host');
    assert.ok(
      seen.every((h) => h.authorization === undefined),
      'and never sent it the token',
    );
  } finally {
    elsewhere.close();
    await gitea.close();
  }
});

test.run();
