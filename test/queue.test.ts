import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { DEAD_STREAM, RECENT, STREAM, jobKey, logKey } from '../lib/queue/names.js';
import type { Claim } from '../lib/queue/queue.js';
import { TRIM_SLACK } from '../lib/queue/scripts.js';
import { claimNext, makeQueue } from './fixtures/queue.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';

const test = suite('queue');
let server: RedisServer;
let redis: Redis;
let blocking: Redis;

test.before(async () => {
  server = await startRedis();
  redis = server.client();
  blocking = server.client();
});
test.after(async () => server.stop());
test.before.each(async () => {
  await redis.flushall();
});

async function run(queue: ReturnType<typeof makeQueue>, consumer = 'agent-a'): Promise<Claim> {
  const started = await claimNext(queue, blocking, consumer);
  assert.ok(started, 'an entry was taken');
  assert.is(started.verdict, 'run');
  if (started.verdict !== 'run') throw new Error('not runnable');
  return started.claim;
}

test('a job goes queued → running → succeeded and leaves nothing in the stream', async () => {
  const queue = makeQueue(redis);
  const { id, created } = await queue.enqueue({ repo: 'https://git.example/a.git', ref: 'main', sha: 'abc1234' });
  assert.ok(created);
  assert.is((await queue.get(id))!.state, 'queued');
  const claim = await run(queue);
  assert.is(claim.job.id, id);
  const running = (await queue.get(id))!;
  assert.is(running.state, 'running');
  assert.is(running.attempt, 1);
  assert.is(running.agent, 'agent-a');
  assert.is(await queue.complete(claim, { state: 'succeeded', exitCode: 0 }), 'succeeded');
  const done = (await queue.get(id))!;
  assert.is(done.state, 'succeeded');
  assert.is(done.exitCode, 0);
  assert.ok(done.finishedAt! >= done.startedAt!);
  const stats = await queue.stats();
  assert.equal([stats.lag, stats.pending, stats.totals.succeeded], [0, 0, 1]);
  assert.ok((await redis.ttl(jobKey(id))) > 0, 'a finished job expires');
});

test('dedupe: the same repo and sha while queued or running returns the first id', async () => {
  const queue = makeQueue(redis);
  const first = await queue.enqueue({ repo: 'r', ref: 'main', sha: 'aaaaaaa' });
  const again = await queue.enqueue({ repo: 'r', ref: 'other-branch', sha: 'aaaaaaa' });
  assert.equal(again, { id: first.id, created: false });
  const otherSha = await queue.enqueue({ repo: 'r', ref: 'main', sha: 'bbbbbbb' });
  assert.ok(otherSha.created);
  const otherRepo = await queue.enqueue({ repo: 'r2', ref: 'main', sha: 'aaaaaaa' });
  assert.ok(otherRepo.created);
  const claim = await run(queue);
  assert.is(claim.job.id, first.id);
  assert.equal(await queue.enqueue({ repo: 'r', ref: 'main', sha: 'aaaaaaa' }), { id: first.id, created: false });
  await queue.complete(claim, { state: 'succeeded', exitCode: 0 });
  const afterwards = await queue.enqueue({ repo: 'r', ref: 'main', sha: 'aaaaaaa' });
  assert.ok(afterwards.created, 'a finished job no longer dedupes');
  assert.is.not(afterwards.id, first.id);
  assert.is((await queue.stats()).lag, 3);
});

test('cancel: a queued job is never run; a running one is told to stop', async () => {
  const queue = makeQueue(redis);
  const queued = await queue.enqueue({ repo: 'r', ref: 'a' });
  const other = await queue.enqueue({ repo: 'r', ref: 'b' });
  assert.is(await queue.cancel(queued.id), 'cancelled');
  assert.is((await queue.get(queued.id))!.state, 'cancelled');
  const skipped = await claimNext(queue, blocking, 'agent-a');
  assert.equal(skipped, { verdict: 'skip', reason: 'cancelled', id: queued.id });
  const claim = await run(queue);
  assert.is(claim.job.id, other.id);
  assert.is(await queue.heartbeat(claim), 'ok');
  assert.is(await queue.cancel(other.id), 'cancelling');
  assert.is(await queue.heartbeat(claim), 'cancel');
  assert.is(await queue.complete(claim, { state: 'cancelled', exitCode: 143 }), 'cancelled');
  assert.is(await queue.cancel(other.id), 'cancelled', 'cancelling a finished job changes nothing');
  const stats = await queue.stats();
  assert.equal([stats.lag, stats.pending, stats.totals.cancelled], [0, 0, 2]);
});

test('a transient failure is retried after a backoff, with the attempt counted', async () => {
  const queue = makeQueue(redis, { retryBackoffSeconds: 0.3 });
  const { id } = await queue.enqueue({ repo: 'r', ref: 'main' });
  const first = await run(queue);
  const failedAt = Date.now();
  assert.is(await queue.complete(first, { state: 'failed', exitCode: 75, error: 'clone timed out', retry: true }, failedAt), 'retrying');
  const waiting = (await queue.get(id))!;
  assert.is(waiting.state, 'queued');
  assert.is(waiting.notBefore, failedAt + 300);
  assert.is((await queue.stats()).lag, 1, 'the retry is visible to KEDA as lag');
  const second = await run(queue, 'agent-b');
  assert.is(second.job.attempt, 2);
  assert.is(second.job.notBefore, failedAt + 300);
  assert.is(await queue.complete(second, { state: 'succeeded', exitCode: 0 }), 'succeeded');
  const stats = await queue.stats();
  assert.equal([stats.totals.retried, stats.totals.succeeded, stats.totals.failed], [1, 1, undefined]);
});

test('a build that fails is not retried', async () => {
  const queue = makeQueue(redis);
  const { id } = await queue.enqueue({ repo: 'r', ref: 'main' });
  const claim = await run(queue);
  assert.is(await queue.complete(claim, { state: 'failed', exitCode: 101, failedStep: 'cargo test', error: 'exit 101' }), 'failed');
  const job = (await queue.get(id))!;
  assert.equal([job.state, job.failedStep, job.exitCode], ['failed', 'cargo test', 101]);
  assert.is(await claimNext(queue, blocking, 'agent-a'), undefined);
});

test('after N transient failures the job goes to the dead-letter stream', async () => {
  const queue = makeQueue(redis, { maxAttempts: 2, retryBackoffSeconds: 0 });
  const { id } = await queue.enqueue({ repo: 'r', ref: 'main' });
  assert.is(await queue.complete(await run(queue), { state: 'failed', exitCode: 75, error: 'network', retry: true }), 'retrying');
  assert.is(await queue.complete(await run(queue), { state: 'failed', exitCode: 75, error: 'network', retry: true }), 'dead');
  const job = (await queue.get(id))!;
  assert.is(job.state, 'dead');
  assert.match(job.error!, /gave up after 2 attempts: network/);
  const dead = await queue.deadLetters();
  assert.is(dead.length, 1);
  assert.is(dead[0]!.job, id);
  assert.is(await redis.xlen(DEAD_STREAM), 1);
  const stats = await queue.stats();
  assert.equal([stats.dead, stats.lag, stats.pending, stats.totals.dead], [1, 0, 0, 1]);
});

test('an agent that stops heart-beating loses its job to another; its late completion counts for nothing', async () => {
  const queue = makeQueue(redis, { visibilityTimeoutMs: 150 });
  const { id } = await queue.enqueue({ repo: 'r', ref: 'main' });
  const stalled = await run(queue, 'agent-a');
  assert.is(await claimNext(queue, blocking, 'agent-b', 50), undefined, 'not reclaimed before the timeout');
  await new Promise((r) => setTimeout(r, 200));
  const reclaimed = await run(queue, 'agent-b');
  assert.is(reclaimed.job.id, id);
  assert.is(reclaimed.job.attempt, 2);
  assert.is(await queue.heartbeat(stalled), 'lost');
  assert.is(await queue.complete(stalled, { state: 'failed', exitCode: 1 }), 'ignored');
  assert.is(await queue.complete(reclaimed, { state: 'succeeded', exitCode: 0 }), 'succeeded');
  assert.is(await queue.complete(reclaimed, { state: 'succeeded', exitCode: 0 }), 'ignored', 'completing twice');
  const stats = await queue.stats();
  assert.equal([stats.totals.succeeded, stats.totals.failed, stats.pending], [1, undefined, 0]);
  assert.is((await queue.get(id))!.state, 'succeeded');
});

test('heart-beating keeps a long job from being reclaimed', async () => {
  const queue = makeQueue(redis, { visibilityTimeoutMs: 150 });
  await queue.enqueue({ repo: 'r', ref: 'main' });
  const claim = await run(queue, 'agent-a');
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 50));
    assert.is(await queue.heartbeat(claim), 'ok');
  }
  assert.is(await claimNext(queue, blocking, 'agent-b', 50), undefined);
});

test("a dead agent's job behind a dozen older running ones is taken over in a few calls, not starved", async () => {
  const queue = makeQueue(redis, { visibilityTimeoutMs: 300 });
  const live: Claim[] = [];
  for (let i = 0; i < 12; i++) {
    await queue.enqueue({ repo: `live-${i}`, ref: 'main' });
    live.push(await run(queue, 'agent-live'));
  }
  const { id } = await queue.enqueue({ repo: 'orphaned', ref: 'main' });
  await run(queue, 'agent-dead');
  const beat = async () => {
    for (const claim of live) assert.is(await queue.heartbeat(claim), 'ok');
  };
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 50));
    await beat();
  }
  let taken: Awaited<ReturnType<typeof queue.reclaim>>;
  for (let call = 0; call < 3 && !taken; call++) {
    await beat();
    taken = await queue.reclaim('agent-rescue');
  }
  assert.ok(taken, 'reclaimed within three calls');
  assert.is(taken!.verdict === 'run' ? taken!.claim.job.id : undefined, id);
});

test('a job whose agents keep dying is dead-lettered instead of looping forever', async () => {
  const queue = makeQueue(redis, { visibilityTimeoutMs: 50, maxAttempts: 2 });
  const { id } = await queue.enqueue({ repo: 'r', ref: 'main' });
  await run(queue, 'agent-a');
  await new Promise((r) => setTimeout(r, 80));
  await run(queue, 'agent-b');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(await claimNext(queue, blocking, 'agent-c'), { verdict: 'dead', reason: '', id });
  assert.is((await queue.get(id))!.state, 'dead');
  assert.equal([(await queue.stats()).dead, (await queue.stats()).pending], [1, 0]);
});

test('lag, as KEDA reads it, equals the jobs no agent has picked up, through out-of-order completions', async () => {
  const queue = makeQueue(redis, { retryBackoffSeconds: 0 });
  const ids = [];
  for (let i = 0; i < 12; i++) ids.push((await queue.enqueue({ repo: 'r', ref: `b${i}` })).id);
  const claims = [];
  for (let i = 0; i < 6; i++) claims.push(await run(queue, `agent-${i}`));
  const expectLag = async (waiting: number, running: number) => {
    const stats = await queue.stats();
    const queued = (await queue.list({ limit: 100 })).filter((j) => j.state === 'queued').length;
    assert.is(stats.lag, waiting, 'lag');
    assert.is(queued, waiting, 'queued jobs');
    assert.is(stats.pending, running, 'pending');
  };
  await expectLag(6, 6);
  // finish in a scrambled order; one transient failure goes back to the queue
  await queue.complete(claims[4]!, { state: 'succeeded', exitCode: 0 });
  await queue.complete(claims[1]!, { state: 'failed', exitCode: 1 });
  await queue.complete(claims[5]!, { state: 'failed', exitCode: 75, retry: true });
  await expectLag(7, 3);
  await queue.complete(claims[0]!, { state: 'succeeded', exitCode: 0 });
  await queue.complete(claims[3]!, { state: 'succeeded', exitCode: 0 });
  await queue.complete(claims[2]!, { state: 'succeeded', exitCode: 0 });
  await expectLag(7, 0);
  for (let next = await claimNext(queue, blocking, 'agent-z', 20); next; next = await claimNext(queue, blocking, 'agent-z', 20)) {
    if (next.verdict === 'run') await queue.complete(next.claim, { state: 'succeeded', exitCode: 0 });
  }
  await expectLag(0, 0);
  for (let i = 0; i < TRIM_SLACK + 30; i++) {
    await queue.enqueue({ repo: 'r', ref: `more${i}` });
    await queue.complete(await run(queue), { state: 'succeeded', exitCode: 0 });
  }
  await expectLag(0, 0);
  const length = await redis.xlen(STREAM);
  assert.ok(length <= TRIM_SLACK, `acknowledged entries are trimmed: ${length} left`);
});

test('outcomes of slots that finish together are recorded in one call, which starts what waits, never more', async () => {
  const queue = makeQueue(redis);
  for (let i = 0; i < 5; i++) await queue.enqueue({ repo: 'r', ref: `together${i}` });
  const [a, b, c] = [await run(queue), await run(queue), await run(queue)];
  const stale = { ...c, lease: 'not-its-lease' };
  const { states, started } = await queue.completeMany(
    [
      { claim: a, outcome: { state: 'succeeded', exitCode: 0 } },
      { claim: b, outcome: { state: 'failed', exitCode: 1, error: 'boom' } },
      { claim: stale, outcome: { state: 'succeeded', exitCode: 0 } },
    ],
    { consumer: 'agent-a', count: 3 },
  );
  assert.equal(states, ['succeeded', 'failed', 'ignored']);
  assert.is(started.length, 2, 'two entries were waiting');
  assert.equal(
    started.map((s) => s.verdict),
    ['run', 'run'],
  );
  assert.equal([(await queue.get(a.job.id))!.state, (await queue.get(b.job.id))!.error, (await queue.get(c.job.id))!.state], ['succeeded', 'boom', 'running']);
  assert.is((await queue.stats()).lag, 0);
});

test('retention: redis holds a bounded number of jobs and log lines however many pass', async () => {
  const queue = makeQueue(redis, { retainJobs: 20, logLines: 100 });
  for (let i = 0; i < 120; i++) {
    await queue.enqueue({ repo: 'r', ref: `b${i}` });
    const claim = await run(queue);
    await queue.appendLog(
      claim.job.id,
      Array.from({ length: 30 }, (_, n) => ({ step: 's', stream: 'out' as const, line: `line ${n}`, ts: n })),
    );
    await queue.complete(claim, { state: 'succeeded', exitCode: 0 });
  }
  assert.ok((await redis.zcard(RECENT)) <= 20);
  const jobKeys = await redis.keys('raibid:job:*');
  assert.ok(jobKeys.length <= 2 * 21, `job and log keys: ${jobKeys.length}`);
  assert.ok((await redis.xlen(STREAM)) <= TRIM_SLACK);
  const { id } = await queue.enqueue({ repo: 'r', ref: 'long-log' });
  await queue.appendLog(
    id,
    Array.from({ length: 2000 }, (_, n) => ({ step: 's', stream: 'out' as const, line: `line ${n}`, ts: n })),
  );
  const logLength = await redis.xlen(logKey(id));
  assert.ok(logLength <= 300, `log entries kept: ${logLength}`);
  const tail = await queue.readLog(id);
  assert.is(tail.at(-1)!.line, 'line 1999', 'the newest lines are kept');
});

test('manual retry queues a finished job again with fresh attempts', async () => {
  const queue = makeQueue(redis);
  const { id } = await queue.enqueue({ repo: 'r', ref: 'main' });
  await queue.complete(await run(queue), { state: 'failed', exitCode: 1, error: 'boom' });
  assert.is(await queue.retry(id), 'queued');
  const job = (await queue.get(id))!;
  assert.equal([job.state, job.attempt, job.error, job.exitCode], ['queued', 0, undefined, undefined]);
  assert.is((await run(queue)).job.attempt, 1);
  assert.is(await queue.retry(id), 'running', 'a running job is not retried');
  assert.is(await queue.retry('nope'), 'missing');
});

test('consumers left by dead agents are pruned once idle and empty; busy ones stay', async () => {
  const queue = makeQueue(redis);
  await queue.enqueue({ repo: 'r', ref: 'a' });
  await queue.enqueue({ repo: 'r', ref: 'b' });
  const crashed = await run(queue, 'crashed-pod');
  await queue.complete(crashed, { state: 'succeeded', exitCode: 0 });
  await run(queue, 'busy-agent');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(await queue.pruneConsumers(60_000), [], 'not idle long enough');
  assert.equal(await queue.pruneConsumers(20), ['crashed-pod']);
  assert.is((await queue.stats()).consumers, 1);
});

test.run();
