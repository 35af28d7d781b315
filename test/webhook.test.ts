import type { ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { jobKey } from '../lib/queue/names.js';
import { exited, killStragglers, spawnCli, waitForOutput } from './fixtures/cli.js';
import { type FakeGitea, startFakeGitea } from './fixtures/fake-gitea.js';
import { commitFiles } from './fixtures/git.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';

const test = suite('serve: GitHub and Gitea push webhooks');
const SECRET = 'webhook-secret-for-tests';
let dir: string;
let redis: RedisServer;
let gitea: FakeGitea;
let serve: ChildProcess;
let base: string;
let sha: string;
let serveOutput = '';

const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');
const pushPayload = (repo: string, after = sha) =>
  JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after,
    repository: { full_name: repo, clone_url: `https://github.com/${repo}.git`, fork: false, archived: false },
  });

async function github(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/hooks/github`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': `sha256=${sign(body)}`, ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function giteaHook(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/hooks/gitea`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Gitea-Event': 'push', 'X-Gitea-Signature': sign(body), ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const queued = () => redis.client().xlen('raibid:jobs');

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-webhook-'));
  [redis, gitea] = await Promise.all([startRedis(), startFakeGitea()]);
  sha = commitFiles(join(dir, 'api-one'), { 'README.md': 'one\n' });
  const token = { Authorization: `token ${gitea.token}`, 'Content-Type': 'application/json' };
  await fetch(`${gitea.url}/api/v1/orgs`, { method: 'POST', headers: token, body: JSON.stringify({ username: 'acme' }) });
  await fetch(`${gitea.url}/api/v1/repos/migrate`, {
    method: 'POST',
    headers: token,
    body: JSON.stringify({ clone_addr: join(dir, 'api-one'), repo_owner: 'acme', repo_name: 'api-one', mirror: true }),
  });
  const config = join(dir, 'raibid.yaml');
  writeFileSync(config, stringify({ gitea: { url: gitea.url }, mirror: { orgs: [{ name: 'acme', include: '^api-' }] } }));
  serve = spawnCli(['serve', '--port', '0'], {
    env: { RAIBID_CONFIG: config, RAIBID_REDIS_URL: redis.url, RAIBID_WEBHOOK_SECRET: SECRET, GITEA_TOKEN: gitea.token },
  });
  serve.stdout!.on('data', (d) => (serveOutput += d));
  const line = await waitForOutput(serve, /listening on 127\.0\.0\.1 port (\d+)/);
  base = `http://127.0.0.1:${line.match(/port (\d+)/)![1]}`;
});

test.after(async () => {
  killStragglers();
  await Promise.all([redis.stop(), gitea.close()]);
  rmSync(dir, { recursive: true, force: true });
});

test('/healthz answers, and GitHub ping gets a pong', async () => {
  assert.is((await fetch(`${base}/healthz`)).status, 200);
  const ping = await github('{"zen":"Keep it logically awesome."}', { 'X-GitHub-Event': 'ping' });
  assert.equal([ping.status, ping.body.pong], [200, true]);
});

test("a GitHub push to a mirrored repo syncs its mirror and queues nothing; Gitea's push webhook after the sync queues the build", async () => {
  const answer = await github(pushPayload('acme/api-one'));
  assert.is(answer.status, 202, JSON.stringify(answer.body));
  assert.is(answer.body.synced, 'acme/api-one');
  assert.is(gitea.syncs.get('acme/api-one'), 1);
  // Gitea's mirror-sync only queues the sync: a job now could reach a mirror without the commit
  assert.is(await queued(), 0, 'nothing queued before Gitea has the commit');
  const fromGitea = await giteaHook(
    JSON.stringify({ ref: 'refs/heads/main', after: sha, repository: { full_name: 'acme/api-one', clone_url: `${gitea.url}/acme/api-one.git` } }),
  );
  assert.equal([fromGitea.status, fromGitea.body.created], [202, true]);
  const job = await redis.client().hgetall(jobKey(String(fromGitea.body.queued)));
  assert.equal([job.repo, job.ref, job.sha], [`${gitea.url}/acme/api-one.git`, 'refs/heads/main', sha]);
  const again = await giteaHook(
    JSON.stringify({ ref: 'refs/heads/main', after: sha, repository: { full_name: 'acme/api-one', clone_url: `${gitea.url}/acme/api-one.git` } }),
  );
  assert.equal([again.status, again.body.created, again.body.queued], [202, false, fromGitea.body.queued], 'a repeated delivery dedupes');
  assert.is(await queued(), 1);
});

test('a repo the config does not mirror: 202 with the reason, nothing synced or queued', async () => {
  const before = await queued();
  const answer = await github(pushPayload('acme/web-site'));
  assert.is(answer.status, 202);
  assert.match(String(answer.body.ignored), 'acme/web-site is not mirrored here');
  assert.is(await queued(), before);
  assert.is(gitea.syncs.get('acme/web-site'), undefined);
});

test('rejections: bad signature 401, over 25 MB 413, malformed JSON 400, a deleted branch 202; nothing queued', async () => {
  const before = await queued();
  const body = pushPayload('acme/api-one', 'b'.repeat(40));
  const forged = await github(body, { 'X-Hub-Signature-256': `sha256=${sign(body, 'wrong-secret')}` });
  assert.is(forged.status, 401);
  assert.is((await github(body, { 'X-Hub-Signature-256': '' })).status, 401);
  assert.is((await giteaHook(body, { 'X-Gitea-Signature': sign(body, 'nope') })).status, 401);
  // GitHub caps payloads at 25 MB: a push of 2 MB is read, one over 25 MB is not
  const large = JSON.stringify({ ...JSON.parse(pushPayload('acme/web-site', 'b'.repeat(40))), commits: [{ message: 'x'.repeat(2 * 1024 * 1024) }] });
  assert.is((await github(large)).status, 202, 'a 2 MB push is read');
  // one over 25 MB is refused from its Content-Length, before it is read
  const big = await new Promise<number>((resolve, reject) => {
    const req = request(
      `${base}/hooks/github`,
      { method: 'POST', headers: { 'Content-Length': String(25 * 1024 * 1024 + 10), 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': 'sha256=00' } },
      (res) => {
        resolve(res.statusCode!);
        req.destroy();
      },
    );
    req.on('error', reject);
    req.write('{"padding": "');
  });
  assert.is(big, 413);
  assert.match(serveOutput, /github webhook rejected from \S+: 401 signature does not match/, 'rejections are logged');
  assert.match(serveOutput, 'github webhook rejected from');
  const malformed = await github('{"ref": "refs/heads/main", ');
  assert.is(malformed.status, 400);
  // a deleted branch: the mirror syncs (and loses the branch too), nothing is built
  const deleted = await github(pushPayload('acme/api-one', '0'.repeat(40)));
  assert.equal([deleted.status, deleted.body.synced, deleted.body.build], [202, 'acme/api-one', 'refs/heads/main deleted: nothing to build']);
  const deletedInGitea = await giteaHook(pushPayload('acme/api-one', '0'.repeat(40)));
  assert.equal([deletedInGitea.status, deletedInGitea.body.ignored], [202, 'refs/heads/main deleted: nothing to build']);
  assert.is(await queued(), before);
});

test('identical deliveries of one push at once make one mirror-sync call', async () => {
  const before = gitea.syncs.get('acme/api-one') ?? 0;
  const body = pushPayload('acme/api-one', 'f'.repeat(40));
  const answers = await Promise.all(Array.from({ length: 5 }, () => github(body)));
  assert.equal(
    answers.map((a) => a.status),
    [202, 202, 202, 202, 202],
  );
  assert.is(gitea.syncs.get('acme/api-one'), before + 1);
});

test("GitHub's form encoding (payload=<JSON>, the default of a hook made by hand) is read; the signature is over the raw body", async () => {
  const before = await queued();
  const form = new URLSearchParams({ payload: pushPayload('acme/api-one', 'd'.repeat(40)) }).toString();
  const answer = await github(form, { 'Content-Type': 'application/x-www-form-urlencoded' });
  assert.is(answer.status, 202, JSON.stringify(answer.body));
  assert.is(answer.body.synced, 'acme/api-one', 'read as a push');
  assert.is(await queued(), before);
  const forged = await github(form, {
    'Content-Type': 'application/x-www-form-urlencoded',
    'X-Hub-Signature-256': `sha256=${sign(pushPayload('acme/api-one', 'd'.repeat(40)))}`,
  });
  assert.is(forged.status, 401, 'a signature over the JSON inside is not one over the body');
});

test('signed but not a push: null, an array, a number for after, a bad ref or clone URL are 400 and queue nothing', async () => {
  const before = await queued();
  const repository = { full_name: 'acme/api-one', clone_url: 'https://github.com/acme/api-one.git' };
  const bodies = [
    'null',
    '[]',
    JSON.stringify({ ref: 'refs/heads/main', after: 12345, repository }),
    JSON.stringify({ ref: 'refs/heads/main', after: 'not-a-sha', repository }),
    JSON.stringify({ ref: '--upload-pack=touch /tmp/x', after: 'e'.repeat(40), repository }),
    JSON.stringify({ ref: 'refs/heads/main', after: 'e'.repeat(40), repository: { ...repository, clone_url: '--config=core.sshCommand=sh' } }),
  ];
  for (const body of bodies) {
    const answer = await github(body);
    assert.is(answer.status, 400, `${body}: ${JSON.stringify(answer.body)}`);
  }
  assert.is(await queued(), before);
});

test('tags: not built by default; with webhook.tags, once per tag at its commit (an annotated tag object is not a second job)', async () => {
  const before = await queued();
  const repository = { full_name: 'acme/api-one', clone_url: `${gitea.url}/acme/api-one.git` };
  const tagObject = '7a'.repeat(20);
  const commit = '1c'.repeat(20);
  const annotated = JSON.stringify({ ref: 'refs/tags/v1.0.0', after: tagObject, head_commit: { id: commit }, repository });
  const ignored = await giteaHook(annotated);
  assert.equal([ignored.status, ignored.body.ignored], [202, 'refs/tags/v1.0.0: tags are not built (webhook.tags: true builds them)']);
  // on GitHub the mirror still syncs, so Gitea has the tag
  const pushedTag = await github(pushPayload('acme/api-one').replace('refs/heads/main', 'refs/tags/v1.0.0'));
  assert.equal([pushedTag.body.synced, pushedTag.body.build], ['acme/api-one', 'refs/tags/v1.0.0: tags are not built (webhook.tags: true builds them)']);
  assert.is(await queued(), before);

  const config = join(dir, 'tags.yaml');
  writeFileSync(config, stringify({ gitea: { url: gitea.url }, mirror: { orgs: [{ name: 'acme', include: '^api-' }] }, webhook: { tags: true } }));
  const tagged = spawnCli(['serve', '--port', '0'], {
    env: { RAIBID_CONFIG: config, RAIBID_REDIS_URL: redis.url, RAIBID_WEBHOOK_SECRET: SECRET, GITEA_TOKEN: gitea.token },
  });
  const port = (await waitForOutput(tagged, /listening on 127\.0\.0\.1 port (\d+)/)).match(/port (\d+)/)![1];
  const post = async (body: string) => {
    const response = await fetch(`http://127.0.0.1:${port}/hooks/gitea`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Gitea-Event': 'push', 'X-Gitea-Signature': sign(body) },
      body,
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const first = await post(annotated);
  const second = await post(JSON.stringify({ ref: 'refs/tags/v1.0.0', after: commit, head_commit: { id: commit }, repository }));
  assert.equal([first.created, second.created, second.queued], [true, false, first.queued], 'one job for the tag');
  assert.is((await redis.client().hgetall(jobKey(String(first.queued)))).sha, commit, 'built at the commit, not the tag object');
  tagged.kill('SIGINT');
  assert.is(await exited(tagged), 0);
});

test('the config repo is not built; SIGINT stops serve cleanly', async () => {
  const answer = await giteaHook(
    JSON.stringify({
      ref: 'refs/heads/main',
      after: 'c'.repeat(40),
      repository: { full_name: 'raibid/cluster-config', clone_url: `${gitea.url}/raibid/cluster-config.git` },
    }),
  );
  assert.is(answer.status, 202);
  serve.kill('SIGINT');
  assert.is(await exited(serve), 0);
});

test.run();
