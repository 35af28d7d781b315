import type { ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { exited, killStragglers, spawnCli, waitForOutput } from './fixtures/cli.js';
import { type FakeGitea, startFakeGitea } from './fixtures/fake-gitea.js';
import { commitFiles } from './fixtures/git.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';

/**
 * The payloads GitHub documents (@octokit/webhooks-examples), delivered to `serve` as GitHub
 * delivers them: signed over the raw body, with GitHub's headers, as JSON and form-encoded.
 * The payloads name Codertocat/Hello-World; the config mirrors that repository, so its mirror
 * is Codertocat/Hello-World in the fake Gitea. No payload field is changed to reach the fixtures.
 */
const test = suite('serve: the webhook payloads GitHub documents');
const SECRET = 'webhook-secret-for-tests';
const MIRROR = 'codertocat/hello-world';
const NO_TAGS = 'refs/tags/simple-tag: tags are not built (webhook.tags: true builds them)';

type Payload = Record<string, unknown> & { ref?: string; deleted?: boolean; ref_type?: string };
type Encoding = 'json' | 'form';
const ENCODINGS: Encoding[] = ['json', 'form'];

const definitions = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];
const examplesOf = (event: string) => (definitions.find((d) => d.name === event)?.examples ?? []) as unknown as Payload[];

const pushes = examplesOf('push');
const branchPushes = pushes.filter((p) => p.ref?.startsWith('refs/heads/') && !p.deleted);
const tagPushes = pushes.filter((p) => p.ref?.startsWith('refs/tags/') && !p.deleted);
const tagDeletions = pushes.filter((p) => p.ref?.startsWith('refs/tags/') && p.deleted);
const creates = examplesOf('create');
const deletes = examplesOf('delete');
const pings = examplesOf('ping');
const unhandled = definitions
  .filter((d) => d.name !== 'push' && d.name !== 'ping')
  .flatMap((d) => (d.examples as unknown as Payload[]).map((payload) => ({ event: d.name, payload })));

// The package has no branch deletion, nor a create/delete of a branch: these are its tag
// examples with only `ref` (and `ref_type`) changed to a branch
const branchDeletion: Payload = { ...tagDeletions[0]!, ref: 'refs/heads/simple-branch' };
const branchCreate: Payload = { ...creates[0]!, ref: 'simple-branch', ref_type: 'branch' };
const branchDelete: Payload = { ...deletes[0]!, ref: 'simple-branch', ref_type: 'branch' };

let dir: string;
let redis: RedisServer;
let redisClient: Redis;
let gitea: FakeGitea;
const serves: Record<'json' | 'form' | 'tags', string> = { json: '', form: '', tags: '' };
const processes: ChildProcess[] = [];

const hmac = (algorithm: 'sha1' | 'sha256', body: string) => createHmac(algorithm, SECRET).update(body).digest('hex');

/** The body and headers of a delivery, as GitHub's hookshot sends them. */
function delivery(event: string, payload: Payload, encoding: Encoding) {
  const json = JSON.stringify(payload);
  const body = encoding === 'json' ? json : new URLSearchParams({ payload: json }).toString();
  const repository = payload.repository as { id?: number } | undefined;
  const headers = {
    'Content-Type': encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    'User-Agent': 'GitHub-Hookshot/044aadd',
    'X-GitHub-Event': event,
    'X-GitHub-Delivery': randomUUID(),
    'X-GitHub-Hook-ID': '109948940',
    'X-GitHub-Hook-Installation-Target-Type': 'repository',
    'X-GitHub-Hook-Installation-Target-ID': String(repository?.id ?? 0),
    'X-Hub-Signature': `sha1=${hmac('sha1', body)}`,
    'X-Hub-Signature-256': `sha256=${hmac('sha256', body)}`,
  };
  return { body, headers };
}

async function deliver(base: string, event: string, payload: Payload, encoding: Encoding) {
  const { body, headers } = delivery(event, payload, encoding);
  const response = await fetch(`${base}/hooks/github`, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const queued = () => redisClient.xlen('raibid:jobs');

/** What `action` made happen: mirror-syncs per Gitea repository, and jobs queued. */
async function effects<T>(action: () => Promise<T>) {
  const syncsBefore = new Map(gitea.syncs);
  const queuedBefore = await queued();
  const result = await action();
  const synced: Record<string, number> = {};
  for (const [repo, count] of gitea.syncs) if (count !== (syncsBefore.get(repo) ?? 0)) synced[repo] = count - (syncsBefore.get(repo) ?? 0);
  return { result, synced, queued: (await queued()) - queuedBefore };
}

async function startServe(name: string, webhook: Record<string, unknown> = {}): Promise<string> {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, stringify({ gitea: { url: gitea.url }, mirror: { repos: ['Codertocat/Hello-World'] }, webhook }));
  const serve = spawnCli(['serve', '--port', '0'], {
    env: { RAIBID_CONFIG: config, RAIBID_REDIS_URL: redis.url, RAIBID_WEBHOOK_SECRET: SECRET, GITEA_TOKEN: gitea.token },
  });
  processes.push(serve);
  const line = await waitForOutput(serve, /listening on 127\.0\.0\.1 port (\d+)/);
  return `http://127.0.0.1:${line.match(/port (\d+)/)![1]}`;
}

async function mirrorHelloWorld(): Promise<void> {
  commitFiles(join(dir, 'Hello-World'), { README: 'Hello World\n' });
  const headers = { Authorization: `token ${gitea.token}`, 'Content-Type': 'application/json' };
  await fetch(`${gitea.url}/api/v1/orgs`, { method: 'POST', headers, body: JSON.stringify({ username: 'Codertocat' }) });
  const migrate = await fetch(`${gitea.url}/api/v1/repos/migrate`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ clone_addr: join(dir, 'Hello-World'), repo_owner: 'Codertocat', repo_name: 'Hello-World', mirror: true }),
  });
  assert.is(migrate.status, 201);
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-webhook-examples-'));
  [redis, gitea] = await Promise.all([startRedis(), startFakeGitea()]);
  redisClient = redis.client();
  await mirrorHelloWorld();
  // one serve per encoding: a serve shares one mirror-sync among deliveries of one commit
  [serves.json, serves.form, serves.tags] = await Promise.all([startServe('json'), startServe('form'), startServe('tags', { tags: true })]);
});

test.after(async () => {
  killStragglers();
  await Promise.all([redis.stop(), gitea.close()]);
  rmSync(dir, { recursive: true, force: true });
});

test('the package has the examples this suite feeds', () => {
  assert.ok(branchPushes.length >= 2, 'pushes to a branch');
  assert.ok(tagPushes.length >= 1, 'a pushed tag');
  assert.ok(tagDeletions.length >= 1, 'a deleted tag');
  assert.ok(creates.every((c) => c.ref_type === 'tag') && creates.length >= 1);
  assert.ok(deletes.every((d) => d.ref_type === 'tag') && deletes.length >= 1);
  assert.ok(pings.length >= 1 && unhandled.length > 100);
});

for (const encoding of ENCODINGS) {
  const base = () => serves[encoding];

  test(`${encoding}: ping answers 200 pong and does nothing`, async () => {
    const { result, synced, queued } = await effects(() => Promise.all(pings.map((p) => deliver(base(), 'ping', p, encoding))));
    assert.equal(
      result.map((a) => [a.status, a.body.pong]),
      pings.map(() => [200, true]),
    );
    assert.equal([synced, queued], [{}, 0]);
  });

  test(`${encoding}: a push to a branch of the mirrored repository syncs Codertocat/Hello-World once, and queues nothing`, async () => {
    const { result, synced, queued } = await effects(() => Promise.all(branchPushes.map((p) => deliver(base(), 'push', p, encoding))));
    for (const answer of result) {
      assert.is(answer.status, 202, JSON.stringify(answer.body));
      assert.is(answer.body.synced, 'Codertocat/Hello-World');
    }
    // the examples push one commit (6113728f): deliveries of one commit share one mirror-sync
    assert.equal(synced, { [MIRROR]: 1 });
    assert.is(queued, 0, "the build is queued by Gitea's push webhook, after its sync");
  });

  test(`${encoding}: a pushed tag syncs the mirror (so Gitea has the tag) and is not built by default: nothing queued`, async () => {
    const { result, synced, queued } = await effects(() => Promise.all(tagPushes.map((p) => deliver(base(), 'push', p, encoding))));
    assert.equal(
      result,
      tagPushes.map(() => ({ status: 202, body: { synced: 'Codertocat/Hello-World', build: NO_TAGS } })),
    );
    assert.equal([synced, queued], [{ [MIRROR]: new Set(tagPushes.map((p) => p.ref)).size }, 0]);
  });

  test(`${encoding}: a deleted tag or branch (deleted: true, after all zeros) syncs the mirror, with nothing to build`, async () => {
    const deletions = [...tagDeletions, branchDeletion];
    const { result, synced, queued } = await effects(() => Promise.all(deletions.map((p) => deliver(base(), 'push', p, encoding))));
    assert.equal(
      result,
      deletions.map((p) => ({ status: 202, body: { synced: 'Codertocat/Hello-World', build: `${p.ref} deleted: nothing to build` } })),
    );
    // deliveries of one ref's deletion share one mirror-sync
    assert.equal([synced, queued], [{ [MIRROR]: new Set(deletions.map((p) => p.ref)).size }, 0]);
  });

  test(`${encoding}: create and delete (of a tag, of a branch) are answered 202 ignored: the push carries the change`, async () => {
    const deliveries = [
      ...creates.map((p) => ['create', p] as const),
      ['create', branchCreate] as const,
      ...deletes.map((p) => ['delete', p] as const),
      ['delete', branchDelete] as const,
    ];
    const { result, synced, queued } = await effects(() => Promise.all(deliveries.map(([event, p]) => deliver(base(), event, p, encoding))));
    assert.equal(
      result,
      deliveries.map(([event]) => ({ status: 202, body: { ignored: `event ${event}` } })),
    );
    assert.equal([synced, queued], [{}, 0]);
  });

  test(`${encoding}: every other event GitHub documents is answered 202 ignored, nothing synced or queued`, async () => {
    const { result, synced, queued } = await effects(async () => {
      const answers = [];
      for (const { event, payload } of unhandled) answers.push({ event, ...(await deliver(base(), event, payload, encoding)) });
      return answers;
    });
    const wrong = result.filter((a) => a.status !== 202 || a.body.ignored !== `event ${a.event}`);
    assert.equal(wrong, [], `${wrong.length} of ${result.length} answered otherwise`);
    assert.equal([synced, queued], [{}, 0]);
  });
}

test('webhook.tags: true: a pushed tag syncs the mirror (Gitea then queues it); create and delete events do nothing', async () => {
  const tag = await effects(() => Promise.all(tagPushes.map((p) => deliver(serves.tags, 'push', p, 'json'))));
  assert.equal(
    tag.result.map((a) => [a.status, a.body.synced]),
    tagPushes.map(() => [202, 'Codertocat/Hello-World']),
  );
  assert.equal([tag.synced, tag.queued], [{ [MIRROR]: 1 }, 0]);

  const others = [...creates.map((p) => ['create', p] as const), ...deletes.map((p) => ['delete', p] as const)];
  const rest = await effects(() => Promise.all(others.map(([event, p]) => deliver(serves.tags, event, p, 'json'))));
  assert.ok(
    rest.result.every((a) => a.status === 202 && typeof a.body.ignored === 'string'),
    JSON.stringify(rest.result),
  );
  assert.equal([rest.synced, rest.queued], [{}, 0]);
});

test('a delivery signed with another secret, or its form body re-encoded after signing, is refused 401', async () => {
  const [example] = branchPushes;
  const { body, headers } = delivery('push', example!, 'form');
  const reencoded = body.replace(/\+/g, '%20');
  assert.is.not(reencoded, body, 'the form body has spaces encoded as +');
  const { result, synced, queued } = await effects(async () => [
    (
      await fetch(`${serves.json}/hooks/github`, {
        method: 'POST',
        headers: { ...headers, 'X-Hub-Signature-256': `sha256=${createHmac('sha256', 'other').update(body).digest('hex')}` },
        body,
      })
    ).status,
    (await fetch(`${serves.json}/hooks/github`, { method: 'POST', headers, body: reencoded })).status,
  ]);
  assert.equal(result, [401, 401]);
  assert.equal([synced, queued], [{}, 0]);
});

test('SIGINT stops every serve cleanly', async () => {
  for (const serve of processes) serve.kill('SIGINT');
  assert.equal(await Promise.all(processes.map(exited)), [0, 0, 0]);
});

test.run();
