import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GitHubClient } from '../lib/github/client.js';
import { jobPageUrl } from '../lib/jobs-page/link.js';
import { reportStatuses } from '../lib/statuses/reporter.js';
import { giteaSink, githubSink } from '../lib/statuses/targets.js';
import { type FakeGitea, startFakeGitea } from './fixtures/fake-gitea.js';
import { type FakeGitHub, startFakeGitHub } from './fixtures/fake-github.js';
import { commitFiles } from './fixtures/git.js';
import { bodyViolations, hasRoute } from './fixtures/github-openapi.js';
import { claimNext, makeQueue } from './fixtures/queue.js';
import { startTestServe } from './fixtures/serve.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';
import { until } from './fixtures/wait.js';

const test = suite('commit statuses on GitHub and Gitea, from serve');
const SECRET = 'statuses-webhook-secret';
const PUBLIC = 'https://ci.example.com/raibid';
const OPERATION = 'repos/create-commit-status';
let dir: string;
let redis: RedisServer;
let client: Redis;
let gitea: FakeGitea;
let github: FakeGitHub;
let sha: string;

const sign = (body: string) => createHmac('sha256', SECRET).update(body).digest('hex');
const githubStates = (repo = 'acme/api-one') => (github.statuses.get(`${repo}@${sha}`) ?? []).map((s) => s.state);
const giteaStates = (repo = 'mirrors/api-one') => (gitea.statuses.get(`${repo}@${sha}`) ?? []).map((s) => s.state);

/**
 * The push webhook Gitea sends once a pull mirror synced a new commit (services/mirror/mirror_pull.go
 * runSync → notify SyncPushCommits → services/webhook/notifier.go, api.PushPayload of
 * modules/structs/hook.go with the repository from convert.ToRepo: mirror and original_url set).
 */
const mirrorPush = () =>
  JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: sha,
    repository: {
      full_name: 'mirrors/api-one',
      clone_url: `${gitea.url}/mirrors/api-one.git`,
      mirror: true,
      original_url: `${github.url}/acme/api-one.git`,
      fork: false,
      archived: false,
    },
  });

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-statuses-'));
  [redis, gitea, github] = await Promise.all([startRedis(), startFakeGitea(), startFakeGitHub()]);
  client = redis.client();
  sha = commitFiles(join(dir, 'api-one'), { 'README.md': 'one\n' });
  github.addRepo({ owner: 'acme', name: 'api-one', cloneUrl: join(dir, 'api-one', '.git') });
});
test.before.each(async () => {
  await client.flushall();
  github.statuses.clear();
  gitea.statuses.clear();
  github.requests.length = 0;
});
test.after(async () => {
  client.disconnect();
  await Promise.all([redis.stop(), gitea.close(), github.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const serving = (extra: Record<string, unknown> = {}) =>
  startTestServe(
    { redis: { url: redis.url }, gitea: { url: gitea.url }, github: { apiUrl: github.url }, webhook: { publicUrl: PUBLIC }, ...extra },
    { giteaToken: gitea.token, githubToken: github.token },
    SECRET,
  );

test('a push to a mirror of a GitHub repo: pending, then failure on GitHub and on Gitea, linking to the job page; bodies as GitHub describes them', async () => {
  const serve = await serving();
  try {
    const body = mirrorPush();
    const answer = await fetch(`http://127.0.0.1:${serve.address.port}/hooks/gitea`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Gitea-Event': 'push', 'X-Gitea-Signature': sign(body) },
      body,
    });
    assert.is(answer.status, 202);
    const id = String(((await answer.json()) as { queued: string }).queued);
    await until(async () => githubStates().length === 1 && giteaStates().length === 1, 'the queued statuses');
    const queue = makeQueue(client);
    const blocking = redis.client();
    const started = await claimNext(queue, blocking, 'agent-1');
    blocking.disconnect();
    assert.is(started?.verdict, 'run');
    if (started?.verdict !== 'run') return;
    await queue.complete(started.claim, {
      state: 'failed',
      exitCode: 101,
      failedStep: 'cargo test',
      error: 'cargo test exited with 101',
      result: { steps: [{ name: 'cargo build' }, { name: 'cargo test' }] },
    });
    await until(async () => githubStates().length === 3 && giteaStates().length === 3, 'the final statuses');
    assert.equal(githubStates(), ['pending', 'pending', 'failure']);
    assert.equal(giteaStates(), ['pending', 'pending', 'failure']);
    const last = github.statuses.get(`acme/api-one@${sha}`)!.at(-1)!;
    assert.is(last.context, 'raibid/ci');
    assert.is(last.target_url, jobPageUrl(PUBLIC, SECRET, id));
    assert.match(last.target_url!, new RegExp(`^${PUBLIC}/jobs/${id}\\?t=[A-Za-z0-9_-]{32}$`));
    assert.match(last.description!, /^cargo test failed after [\d.]+m?s: cargo test exited with 101$/);
    assert.is(gitea.statuses.get(`mirrors/api-one@${sha}`)!.at(-1)!.target_url, last.target_url);
    // behind the ingress, https://ci.example.com/raibid/… reaches serve as /…
    const page = await fetch(`http://127.0.0.1:${serve.address.port}${last.target_url!.slice(PUBLIC.length)}`);
    assert.is(page.status, 200, 'the link opens the job page');
    assert.match(await page.text(), /<p class="state s-failed" id="state">failed<\/p>/);
    assert.ok(hasRoute('/repos/{owner}/{repo}/statuses/{sha}', 'post'), 'the route is in the description');
    const posts = github.requests.filter((r) => r.method === 'POST');
    assert.is(posts.length, 3);
    for (const post of posts) assert.equal(bodyViolations(OPERATION, post.body ?? {}), [], JSON.stringify(post.body));
    assert.equal(gitea.violations, []);
  } finally {
    await serve.close();
  }
});

test('the OpenAPI check fails a body GitHub would not take', () => {
  assert.equal(bodyViolations(OPERATION, { state: 'passed', context: 'x', colour: 'red' }), [
    'state: "passed" not one of error, failure, pending, success',
    'colour: not in the description',
  ]);
  assert.equal(bodyViolations(OPERATION, { description: 'x' }), ['state: required']);
});

test('GitHub away: Gitea is set once, GitHub once it answers, after a restart too; a status failing every try is given up and the next goes on', async () => {
  const queue = makeQueue(client);
  const meta = { 'gitea.repo': 'mirrors/api-one', 'github.repo': 'acme/api-one' };
  const logs: string[] = [];
  // until the last restart a status is never given up: the first run stops after GitHub's second try, which a third could beat
  const run = (maxTries: number) => {
    const stop = new AbortController();
    const blocking = redis.client();
    const sinks = [
      giteaSink({ url: gitea.url, token: gitea.token }, 'raibid/ci'),
      githubSink(new GitHubClient(github.url, github.token, undefined, 1, 0), 'raibid/ci'),
    ];
    const done = reportStatuses({ queue, blocking, sinks, linkTo: () => undefined, signal: stop.signal, log: (l) => logs.push(l), retryBaseMs: 5, maxTries });
    return async () => {
      stop.abort();
      blocking.disconnect();
      await done;
    };
  };
  github.failStatusesNext(1_000_000);
  await queue.enqueue({ repo: 'https://x/acme/api-one.git', ref: 'refs/heads/main', sha, meta });
  let stop = run(1_000);
  try {
    await until(async () => giteaStates().length === 1 && github.requests.length >= 2, 'Gitea set, GitHub tried');
    await stop();
    github.failStatusesNext(0);
    stop = run(1_000);
    await until(async () => githubStates().length === 1, 'GitHub set after the restart');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await stop();
    assert.equal([giteaStates(), githubStates()], [['pending'], ['pending']], 'each set once');

    stop = run(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal([giteaStates(), githubStates()], [['pending'], ['pending']], 'a restart posts nothing again');
    github.failStatusesNext(1_000_000);
    await queue.enqueue({ repo: 'https://y/acme/api-one.git', ref: 'refs/heads/main', sha, meta });
    await until(async () => logs.some((l) => l.includes(`given up after 3 tries`)), 'the status given up');
    github.failStatusesNext(0);
    await queue.enqueue({ repo: 'https://z/acme/api-one.git', ref: 'refs/heads/main', sha, meta });
    await until(async () => githubStates().length === 2, 'the next event goes on');
  } finally {
    await stop();
  }
  assert.is(giteaStates().length, 3);
});

test("a GitHub push to a mirrored repo: serve syncs the mirror, Gitea's push webhook queues the build, the statuses land on GitHub and Gitea and link to the job page", async () => {
  const serve = await serving({ mirror: { orgs: [{ name: 'acme' }], targetOrg: 'mirrors' } });
  const base = `http://127.0.0.1:${serve.address.port}`;
  const api = (path: string, body: unknown) =>
    fetch(`${gitea.url}/api/v1${path}`, {
      method: 'POST',
      headers: { Authorization: `token ${gitea.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  try {
    await api('/orgs', { username: 'mirrors' });
    assert.is(
      (await api('/repos/migrate', { clone_addr: `${github.url}/acme/api-one.git`, repo_owner: 'mirrors', repo_name: 'api-one', mirror: true })).status,
      201,
      'Gitea mirrors it over HTTP from GitHub',
    );
    await api('/admin/hooks', {
      type: 'gitea',
      config: { url: `${base}/hooks/gitea`, content_type: 'json', secret: SECRET, is_system_webhook: 'true' },
      events: ['push'],
      active: true,
    });
    const next = commitFiles(join(dir, 'api-one'), { 'src.txt': 'two\n' }, 'second');
    const push = JSON.stringify({
      ref: 'refs/heads/main',
      before: sha,
      after: next,
      repository: { full_name: 'acme/api-one', clone_url: `${github.url}/acme/api-one.git`, fork: false, archived: false },
    });
    const answer = await fetch(`${base}/hooks/github`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': `sha256=${sign(push)}` },
      body: push,
    });
    assert.is(answer.status, 202);
    const on = (statuses: Map<string, { state: string; target_url: string | null }[]>, key: string) => statuses.get(key) ?? [];
    await until(
      async () => on(github.statuses, `acme/api-one@${next}`).length === 1 && on(gitea.statuses, `mirrors/api-one@${next}`).length === 1,
      'pending on both',
    );
    assert.equal(await Promise.all(gitea.deliveries), [202], "Gitea's push webhook taken");
    const queue = makeQueue(client);
    const blocking = redis.client();
    const started = await claimNext(queue, blocking, 'agent-1');
    blocking.disconnect();
    if (started?.verdict !== 'run') throw new Error('no job queued');
    assert.is(started.claim.job.sha, next);
    await queue.complete(started.claim, { state: 'succeeded', exitCode: 0, result: { steps: [{ name: 'cargo build' }, { name: 'cargo test' }] } });
    await until(
      async () =>
        on(github.statuses, `acme/api-one@${next}`).at(-1)?.state === 'success' && on(gitea.statuses, `mirrors/api-one@${next}`).at(-1)?.state === 'success',
      'success on both',
    );
    const link = on(github.statuses, `acme/api-one@${next}`).at(-1)!.target_url!;
    const page = await fetch(`${base}${link.slice(PUBLIC.length)}`);
    assert.match(await page.text(), /id="state">succeeded</);
  } finally {
    await serve.close();
  }
});

test.run();
