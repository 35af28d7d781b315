import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { GROUP, RECENT, STREAM } from '../lib/queue/names.js';
import type { Claim } from '../lib/queue/queue.js';
import { requeueEveryMs, startRequeuing } from '../lib/queue/requeuer.js';
import { exited, killStragglers, runCli, spawnCli, waitForOutput } from './fixtures/cli.js';
import { claimNext, makeQueue } from './fixtures/queue.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';
import { processAlive, until } from './fixtures/wait.js';

const test = suite('stranded jobs: serve requeues entries left pending by dead agents');
const VISIBILITY_S = 5;
let server: RedisServer;
let redis: Redis;
let blocking: Redis;
let dir: string;
let env: NodeJS.ProcessEnv;
const leftovers: number[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The group's lag exactly as KEDA's redis-streams scaler reads it. */
async function groupLag(): Promise<number | null> {
  const groups = (await redis.xinfo('GROUPS', STREAM)) as unknown[][];
  const group = groups.find((g) => g[g.indexOf('name') + 1] === GROUP)!;
  return group[group.indexOf('lag') + 1] as number | null;
}

function startServe(): { serve: ChildProcess; output: () => string } {
  const serve = spawnCli(['serve', '--port', '0'], { env });
  let output = '';
  serve.stdout!.on('data', (d) => (output += d));
  serve.stderr!.on('data', (d) => (output += d));
  return { serve, output: () => output };
}

async function dispatch(ref = 'main'): Promise<string> {
  const dispatched = await runCli(['dispatch', '--repo', 'https://git.example/acme/api.git', '--ref', ref], { env });
  assert.is(dispatched.code, 0, dispatched.stderr);
  return dispatched.stdout.trim();
}

async function run(queue: ReturnType<typeof makeQueue>, consumer: string): Promise<Claim> {
  const started = await claimNext(queue, blocking, consumer);
  if (started?.verdict !== 'run') throw new Error(`nothing to run: ${JSON.stringify(started)}`);
  return started.claim;
}

test.before(async () => {
  server = await startRedis();
  redis = server.client();
  blocking = server.client();
  dir = mkdtempSync(join(tmpdir(), 'raibid-stranded-'));
  const config = join(dir, 'raibid.yaml');
  writeFileSync(config, stringify({ gitea: { url: 'http://127.0.0.1:9' }, queue: { visibilityTimeoutSeconds: VISIBILITY_S } }));
  env = { RAIBID_CONFIG: config, RAIBID_REDIS_URL: server.url, RAIBID_WEBHOOK_SECRET: 'stranded-secret', HOME: dir };
});
test.before.each(async () => {
  await redis.flushall();
});
test.after.each(() => killStragglers());
test.after(async () => {
  for (const pid of leftovers) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the only agent killed -9 mid-job: serve puts the job back in the lag, and a fresh agent runs it as attempt 2', async () => {
  const id = await dispatch();
  const pidFile = join(dir, 'build.pid');
  const agent = spawnCli(['agent', '--once', '--exec', `echo $$ > '${pidFile}'; exec sleep 60`], { env });
  await waitForOutput(agent, new RegExp(`${id} started`));
  await until(async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim(), 'the build to start');
  const build = Number(readFileSync(pidFile, 'utf8'));
  leftovers.push(build);
  assert.is(await groupLag(), 0);
  assert.is(await redis.hget(`raibid:job:${id}`, 'state'), 'running');

  agent.kill('SIGKILL');
  await exited(agent);
  // the build dies with its agent (the parent-death guard)
  await until(async () => !processAlive(build), 'the build to die with its agent', 5000);
  const killedAt = Date.now();
  const { serve, output } = startServe();
  await waitForOutput(serve, /listening on \S+ port/);
  await until(async () => (await groupLag()) === 1, 'the lag to count the job again', (VISIBILITY_S + 5) * 1000);
  const backAfterMs = Date.now() - killedAt;
  assert.ok(backAfterMs <= (VISIBILITY_S + 3) * 1000, `back in the lag ${backAfterMs} ms after the kill`);

  const queue = makeQueue(redis);
  const stats = await queue.stats();
  assert.equal([stats.lag, stats.pending, stats.length], [1, 0, 1], 'one unfinished job, waiting');
  assert.equal(await redis.zrange(RECENT, '0', '-1'), [id], 'no new job was enqueued');
  const waiting = (await queue.get(id))!;
  assert.equal([waiting.state, waiting.attempt, waiting.agent], ['queued', 1, undefined]);
  await until(async () => output().includes(`requeued ${id}`) || undefined, 'serve to say so', 2000);

  const fresh = await runCli(['agent', '--once', '--exec', 'true'], { env });
  assert.is(fresh.code, 0, fresh.stderr);
  assert.match(fresh.stdout, `${id} succeeded`);
  const done = (await queue.get(id))!;
  assert.equal([done.state, done.attempt], ['succeeded', 2]);
  const after = await queue.stats();
  assert.equal([after.lag, after.pending, after.totals], [0, 0, { requeued: 1, succeeded: 1 }]);

  serve.kill('SIGINT');
  assert.is(await exited(serve), 0);
  assert.not.match(output(), 'cannot check', 'no errors from the requeue passes');
});

test('serve leaves alone a job whose agent heart-beats past the visibility timeout', async () => {
  const { serve, output } = startServe();
  await waitForOutput(serve, /listening on \S+ port/);
  const id = await dispatch('long');
  const agent = await runCli(['agent', '--once', '--exec', `sleep ${VISIBILITY_S + 1.5}`], { env });
  assert.is(agent.code, 0, agent.stderr);
  const job = (await makeQueue(redis).get(id))!;
  assert.equal([job.state, job.attempt], ['succeeded', 1]);
  assert.equal(await redis.hgetall('raibid:jobs:counters'), { succeeded: '1' });
  serve.kill('SIGINT');
  assert.is(await exited(serve), 0);
  assert.not.match(output(), 'requeued');
});

test('after a requeue the stale claim counts for nothing: heartbeat lost, completion ignored, counted once', async () => {
  const queue = makeQueue(redis, { visibilityTimeoutMs: 150 });
  const { id } = await queue.enqueue({ repo: 'r', ref: 'main' });
  const stale = await run(queue, 'dead-pod');
  assert.equal(await queue.requeueStalled(), [], 'not before the visibility timeout');
  await sleep(200);
  assert.equal(await queue.requeueStalled(), [id]);
  assert.equal(await queue.requeueStalled(), [], 'once');
  assert.equal([await groupLag(), (await queue.stats()).pending], [1, 0]);
  assert.is(await queue.heartbeat(stale), 'lost');
  assert.is(await queue.complete(stale, { state: 'failed', exitCode: 1 }), 'ignored');
  assert.match((await queue.readLog(id)).map((l) => l.line).join('\n'), 'requeued: its agent dead-pod stopped heart-beating');
  const second = await run(queue, 'fresh-pod');
  assert.is(second.job.attempt, 2);
  assert.is(await queue.complete(stale, { state: 'succeeded', exitCode: 0 }), 'ignored', 'nor after the job restarted');
  assert.is(await queue.complete(second, { state: 'succeeded', exitCode: 0 }), 'succeeded');
  const stats = await queue.stats();
  assert.equal([stats.lag, stats.pending, stats.totals], [0, 0, { requeued: 1, succeeded: 1 }]);
});

test('a pending entry whose worker heart-beats is not requeued', async () => {
  const queue = makeQueue(redis, { visibilityTimeoutMs: 150 });
  const { id } = await queue.enqueue({ repo: 'r', ref: 'main' });
  const claim = await run(queue, 'live-pod');
  for (let i = 0; i < 8; i++) {
    await sleep(50);
    assert.is(await queue.heartbeat(claim), 'ok');
    assert.equal(await queue.requeueStalled(), []);
  }
  assert.equal([await groupLag(), (await queue.stats()).pending], [0, 1]);
  assert.is(await queue.complete(claim, { state: 'succeeded', exitCode: 0 }), 'succeeded');
  assert.is((await queue.get(id))!.attempt, 1);
});

test('a job whose agents keep dying is dead-lettered after maxAttempts, requeued or not', async () => {
  const queue = makeQueue(redis, { visibilityTimeoutMs: 50, maxAttempts: 2 });
  const { id } = await queue.enqueue({ repo: 'r', ref: 'main' });
  for (const pod of ['pod-a', 'pod-b']) {
    await run(queue, pod);
    await sleep(80);
    assert.equal(await queue.requeueStalled(), [id]);
  }
  assert.equal(await claimNext(queue, blocking, 'pod-c'), { verdict: 'dead', reason: '', id });
  const stats = await queue.stats();
  assert.equal([stats.dead, stats.lag, stats.pending, stats.totals.dead], [1, 0, 0, 1]);
});

test('entries of finished or superseded jobs are only acknowledged; a stranded job asked to cancel is cancelled', async () => {
  const queue = makeQueue(redis, { visibilityTimeoutMs: 50 });
  const readOnly = async () => redis.xreadgroup('GROUP', GROUP, 'dead-pod', 'COUNT', 1, 'STREAMS', STREAM, '>');
  const cancelling = await queue.enqueue({ repo: 'r', ref: 'cancelling' });
  await run(queue, 'dead-pod');
  assert.is(await queue.cancel(cancelling.id), 'cancelling');
  const cancelled = await queue.enqueue({ repo: 'r', ref: 'cancelled' });
  await readOnly();
  assert.is(await queue.cancel(cancelled.id), 'cancelled');
  const unstarted = await queue.enqueue({ repo: 'r', ref: 'unstarted' });
  await readOnly();
  await sleep(80);
  assert.equal(await queue.requeueStalled(), [unstarted.id], 'a job read but never started goes back');
  assert.equal([(await queue.get(cancelled.id))!.state, (await queue.get(cancelling.id))!.state], ['cancelled', 'cancelled']);
  assert.equal([await groupLag(), (await queue.stats()).pending], [1, 0]);
  assert.is((await run(queue, 'fresh-pod')).job.attempt, 1);
  assert.equal((await queue.stats()).totals, { cancelled: 2, requeued: 1 });
});

test("serve's requeue passes: the first at once, one at a time, a failure reported once and the passes go on", async () => {
  assert.equal([requeueEveryMs(2000), requeueEveryMs(8000), requeueEveryMs(30_000)], [1000, 2000, 5000]);
  const replies: (string[] | Error)[] = [['a'], new Error('ECONNREFUSED'), new Error('ECONNREFUSED'), [], ['b']];
  let calls = 0;
  let inFlight = 0;
  const events: string[] = [];
  const queue = {
    options: makeQueue(redis).options,
    async requeueStalled() {
      inFlight += 1;
      assert.is(inFlight, 1, 'passes do not overlap');
      await sleep(5);
      inFlight -= 1;
      const reply = replies[Math.min(calls++, replies.length - 1)]!;
      if (reply instanceof Error) throw reply;
      return reply;
    },
  };
  const stop = startRequeuing(queue, { requeued: (ids) => events.push(ids.join()), failed: (e) => events.push(e.message) }, 10);
  assert.is(inFlight, 1, 'the first pass starts at once');
  await until(async () => calls >= 6, 'six passes', 2000);
  stop();
  const stoppedAt = calls;
  await sleep(50);
  assert.ok(calls <= stoppedAt + 1, 'no pass after stop');
  assert.equal(events.slice(0, 3), ['a', 'ECONNREFUSED', 'b']);
});

test.run();
