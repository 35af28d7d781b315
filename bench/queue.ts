// Enqueue→pickup latency and no-op throughput of this queue and of BullMQ, on one
// redis-server (AOF, fsync always) started here. This VM's speed drifts by 2–3× within a
// minute, so the contenders take turns in many short rounds, the first one alternating (AB BA),
// and each block of two rounds compares the two: the ratio printed is the median over blocks.
// Latency samples are pooled over the rounds. A line for a bare PING after the same idle gap
// shows the floor any pickup (two round trips) stands on.
import { performance } from 'node:perf_hooks';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { Worker } from '../lib/agent/worker.js';
import { makeQueue } from '../test/fixtures/queue.js';
import { type RedisServer, startRedis } from '../test/fixtures/redis.js';

const LATENCY_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100);
const THROUGHPUT_JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const ROUNDS = 2 * Math.ceil(Number(process.env.BENCH_ROUNDS ?? 10) / 2);
const IDLE_GAP_MS = 5;

interface Contender {
  name: string;
  /** Starts `workers` workers that call `onJob` for each job; returns a stop function. */
  start(workers: number, onJob: () => void): Promise<() => Promise<void>>;
  enqueue(i: number): Promise<void>;
  reset(): Promise<void>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const workersLabel = (workers: number) => `${workers} worker${workers > 1 ? 's' : ''}`;

/** `samples` timings of `once`, each after an idle gap: a pickup by an idle worker, not one still recording the last job. */
async function timedAfterIdle(samples: number, once: (i: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await once(i);
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, IDLE_GAP_MS));
  }
  return latencies;
}

function latencyFigures(latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50_ms: round(percentile(sorted, 50)), p99_ms: round(percentile(sorted, 99)), samples: sorted.length };
}

function raibid(server: RedisServer): Contender {
  const client = new Redis(server.url);
  const queue = makeQueue(client);
  return {
    name: 'raibid-task',
    async start(workers, onJob) {
      const worker = new Worker(queue, {
        concurrency: workers,
        jobTimeoutMs: 60_000,
        runner: async () => {
          onJob();
          return { exitCode: 0 };
        },
        connect: async () => new Redis(server.url),
        onEvent: (event) => {
          if (event.type === 'error') console.error(event.error);
        },
      });
      const running = worker.run();
      await new Promise((r) => setTimeout(r, 200));
      return async () => {
        worker.stop();
        await running;
      };
    },
    enqueue: (i) => queue.enqueue({ repo: 'https://git.example/o/r.git', ref: `b${i}` }).then(() => undefined),
    reset: async () => void (await client.flushall()),
  };
}

function bullmq(server: RedisServer): Contender {
  const connection = { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null };
  const queue = new BullQueue('bench', { connection });
  const admin = new Redis(server.url);
  return {
    name: 'bullmq',
    async start(workers, onJob) {
      const worker = new BullWorker('bench', async () => onJob(), { connection, concurrency: workers });
      await worker.waitUntilReady();
      await new Promise((r) => setTimeout(r, 200));
      return async () => worker.close();
    },
    enqueue: (i) => queue.add('job', { repo: 'https://git.example/o/r.git', ref: `b${i}` }).then(() => undefined),
    reset: async () => void (await admin.flushall()),
  };
}

async function measure(contender: Contender, workers: number) {
  await contender.reset();
  let picked: () => void = () => {};
  const stop = await contender.start(workers, () => picked());
  const latencies = await timedAfterIdle(LATENCY_SAMPLES, async (i) => {
    const done = new Promise<void>((resolve) => (picked = resolve));
    await contender.enqueue(i);
    await done;
  });
  await stop();

  await contender.reset();
  for (let i = 0; i < THROUGHPUT_JOBS; i++) await contender.enqueue(i);
  // from the first pickup to the last: connecting and starting the workers are left out
  let count = 0;
  let first = 0;
  let finished: () => void = () => {};
  const all = new Promise<void>((resolve) => (finished = resolve));
  const stopAgain = await contender.start(workers, () => {
    count += 1;
    if (count === 1) first = performance.now();
    if (count === THROUGHPUT_JOBS) finished();
  });
  await all;
  const seconds = (performance.now() - first) / 1000;
  await stopAgain();

  return { latencies, jobsPerSecond: (THROUGHPUT_JOBS - 1) / seconds };
}

type Round = Awaited<ReturnType<typeof measure>>;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function summary(name: string, workers: number, rounds: Round[]) {
  const { p50_ms, p99_ms, samples } = latencyFigures(rounds.flatMap((r) => r.latencies));
  return {
    name: `${name} ${workersLabel(workers)}`,
    queue: name,
    workers,
    p50_ms,
    p99_ms,
    jobs_per_s: Math.round(median(rounds.map((r) => r.jobsPerSecond))),
    samples,
    jobs: THROUGHPUT_JOBS,
    rounds: rounds.length,
  };
}

/** One round trip to an idle Redis, as a pickup's enqueue makes. */
async function pingFloor(server: RedisServer) {
  const client = new Redis(server.url);
  const latencies = await timedAfterIdle(LATENCY_SAMPLES * ROUNDS, async () => void (await client.ping()));
  client.disconnect();
  return { name: 'redis PING after an idle gap', ...latencyFigures(latencies) };
}

const server = await startRedis(process.env.BENCH_AOF === 'no' ? { appendonly: 'no' } : undefined);
try {
  const [ours, peer] = [raibid(server), bullmq(server)];
  for (const workers of [1, 4]) {
    const results = new Map<Contender, Round[]>([
      [ours, []],
      [peer, []],
    ]);
    for (let r = 0; r < ROUNDS; r++) {
      for (const contender of r % 2 === 0 ? [ours, peer] : [peer, ours]) results.get(contender)!.push(await measure(contender, workers));
    }
    const [mine, theirs] = [results.get(ours)!, results.get(peer)!];
    console.log(JSON.stringify(summary(ours.name, workers, mine)));
    console.log(JSON.stringify(summary(peer.name, workers, theirs)));
    // whoever runs second in a round does better here, so rounds are compared two at a time (AB BA)
    const pair = (rounds: Round[], r: number) => rounds[r]!.jobsPerSecond + rounds[r + 1]!.jobsPerSecond;
    const ratios = Array.from({ length: ROUNDS / 2 }, (_, b) => pair(mine, 2 * b) / pair(theirs, 2 * b));
    console.log(
      JSON.stringify({
        name: `throughput ${ours.name} / ${peer.name}, ${workersLabel(workers)}`,
        median_ratio: round(median(ratios)),
        blocks_ahead: ratios.filter((x) => x >= 1).length,
        blocks: ratios.length,
      }),
    );
  }
  console.log(JSON.stringify(await pingFloor(server)));
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await server.stop();
}
process.exit();
