import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { STREAM, jobKey } from '../lib/queue/names.js';
import { exited, runCli, spawnCli, waitForOutput } from './fixtures/cli.js';
import { makeQueue } from './fixtures/queue.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';
import { until } from './fixtures/wait.js';

const test = suite('durability');
let server: RedisServer;

test.before(async () => {
  server = await startRedis();
});
test.after(async () => server.stop());

async function burstThenCrash(server: RedisServer): Promise<{ acknowledged: string[]; lost: string[]; check: Redis }> {
  const producer = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  producer.on('error', () => {});
  await new Promise((ready) => producer.once('ready', ready));
  const queue = makeQueue(producer);
  await queue.ensureGroup();
  const acknowledged: string[] = [];
  let failures = 0;
  const burst = (async () => {
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < 2000; i++) {
      const p: Promise<void> = queue
        .enqueue({ repo: 'https://git.example/o/r.git', ref: `b${i}` })
        .then(({ id }) => void acknowledged.push(id))
        .catch(() => void (failures += 1))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 16) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })();
  await until(async () => acknowledged.length >= 400 || undefined, '400 acknowledged enqueues');
  await server.kill9();
  await burst;
  producer.disconnect();
  assert.ok(acknowledged.length >= 400 && acknowledged.length < 2000, `acknowledged ${acknowledged.length}`);
  assert.is(acknowledged.length + failures, 2000);
  await server.restart();
  const check = server.client();
  const pipeline = check.pipeline();
  for (const id of acknowledged) pipeline.hget(jobKey(id), 'state');
  const states = ((await pipeline.exec()) ?? []).map(([, state]) => state);
  return { acknowledged, lost: acknowledged.filter((_, i) => states[i] !== 'queued'), check };
}

test('kill -9 redis-server during a burst of 2,000 enqueues: every id returned is still there after restart', async () => {
  const { acknowledged, lost, check } = await burstThenCrash(server);
  assert.equal(lost, [], `${lost.length} of ${acknowledged.length} acknowledged jobs were lost`);
  const entries = await check.xrange(STREAM, '-', '+');
  const inStream = new Set(entries.map(([, fields]) => fields[1]));
  assert.equal(
    acknowledged.filter((id) => !inStream.has(id)),
    [],
    'every acknowledged job has its stream entry',
  );
  const stats = await makeQueue(check).stats();
  assert.ok(stats.lag !== null && stats.lag >= acknowledged.length, `lag ${stats.lag} after restart`);
});

test('the same crash without AOF loses acknowledged jobs: the check above can fail', async () => {
  const volatile = await startRedis({ appendonly: 'no' });
  try {
    const { acknowledged, lost } = await burstThenCrash(volatile);
    assert.is(lost.length, acknowledged.length);
  } finally {
    await volatile.stop();
  }
});

const OUTAGE_MS = 25_000;

/** A folder with a config pointing at this Redis, emptied, and the environment a CLI run uses with it. */
async function agentWorld(name: string): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = mkdtempSync(join(tmpdir(), `raibid-${name}-`));
  const config = join(dir, 'raibid.yaml');
  writeFileSync(config, `redis:\n  url: ${server.url}\n`);
  await server.client().flushall();
  return { dir, env: { RAIBID_CONFIG: config, RAIBID_REDIS_URL: undefined, HOME: dir } };
}

test('Redis away longer than a client retries a command (~21 s): the agent lives, and the result it held is recorded once Redis is back', async () => {
  const { dir, env } = await agentWorld('outage');
  const queue = makeQueue(server.client());
  const { id } = await queue.enqueue({ repo: 'https://git.example/o/r.git', ref: 'outage' });
  const started = join(dir, 'started');
  const agent = spawnCli(['agent', '--once', '--exec', `touch '${started}'; sleep 2; echo built`], { env });
  await until(async () => existsSync(started), 'the job to start');
  await server.kill9();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  assert.is(agent.exitCode, null, 'the agent is still there');
  await server.restart();
  assert.is(await exited(agent), 0);
  const job = await makeQueue(server.client()).get(id);
  assert.equal([job?.state, job?.attempt], ['succeeded', 1]);
  rmSync(dir, { recursive: true, force: true });
});

test('an agent started while Redis is down says so, waits, and takes the job once Redis is up', async () => {
  const { dir, env } = await agentWorld('waiting');
  await server.kill9();
  const agent = spawnCli(['agent', '--once', '--exec', 'echo built'], { env });
  await waitForOutput(agent, /cannot reach Redis at .*; waiting for it/, 10_000);
  const status = await runCli(['status'], { env });
  assert.is(status.code, 1, 'other tasks fail at once');
  await server.restart();
  const { id } = await makeQueue(server.client()).enqueue({ repo: 'https://git.example/o/r.git', ref: 'late' });
  assert.is(await exited(agent), 0);
  assert.is((await makeQueue(server.client()).get(id))?.state, 'succeeded');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
