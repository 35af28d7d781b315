// Enqueue→pickup latency and no-op throughput of this queue and of BullMQ, on one
// redis-server (AOF, fsync always) started here. Prints one JSON line per queue and worker count.
import { performance } from 'node:perf_hooks';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { Worker } from '../lib/agent/worker.js';
import { makeQueue } from '../test/fixtures/queue.js';
import { type RedisServer, startRedis } from '../test/fixtures/redis.js';

const LATENCY_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 500);
const THROUGHPUT_JOBS = Number(process.env.BENCH_JOBS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

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
  return {
    name: 'bullmq',
    async start(workers, onJob) {
      const worker = new BullWorker('bench', async () => onJob(), { connection, concurrency: workers });
      await worker.waitUntilReady();
      await new Promise((r) => setTimeout(r, 200));
      return async () => worker.close();
    },
    enqueue: (i) => queue.add('job', { repo: 'https://git.example/o/r.git', ref: `b${i}` }).then(() => undefined),
    reset: async () => {
      await queue.obliterate({ force: true });
    },
  };
}

async function measure(contender: Contender, workers: number) {
  await contender.reset();
  let picked: () => void = () => {};
  const stop = await contender.start(workers, () => picked());
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const done = new Promise<void>((resolve) => (picked = resolve));
    const t0 = performance.now();
    await contender.enqueue(i);
    await done;
    latencies.push(performance.now() - t0);
    // the next sample measures pickup by an idle worker, not one still recording the last job
    await new Promise((r) => setTimeout(r, 5));
  }
  await stop();

  await contender.reset();
  for (let i = 0; i < THROUGHPUT_JOBS; i++) await contender.enqueue(i);
  let count = 0;
  let finished: () => void = () => {};
  const all = new Promise<void>((resolve) => (finished = resolve));
  const t0 = performance.now();
  const stopAgain = await contender.start(workers, () => {
    count += 1;
    if (count === THROUGHPUT_JOBS) finished();
  });
  await all;
  const seconds = (performance.now() - t0 - 200) / 1000;
  await stopAgain();

  latencies.sort((a, b) => a - b);
  return {
    name: `${contender.name} ${workers} worker${workers > 1 ? 's' : ''}`,
    queue: contender.name,
    workers,
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    jobs_per_s: Math.round(THROUGHPUT_JOBS / seconds),
    samples: LATENCY_SAMPLES,
    jobs: THROUGHPUT_JOBS,
  };
}

type Result = Awaited<ReturnType<typeof measure>>;

/** Rounds alternate between the contenders so a slow spell of the disk hits both; medians are printed. */
function median(results: Result[]): Result & { rounds: number } {
  const mid = (pick: (r: Result) => number) => results.map(pick).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
  return {
    ...results[0]!,
    p50_ms: mid((r) => r.p50_ms),
    p99_ms: mid((r) => r.p99_ms),
    jobs_per_s: mid((r) => r.jobs_per_s),
    rounds: results.length,
  };
}

const server = await startRedis(process.env.BENCH_AOF === 'no' ? { appendonly: 'no' } : undefined);
try {
  const contenders = [raibid(server), bullmq(server)];
  for (const workers of [1, 4]) {
    const results = new Map<string, Result[]>(contenders.map((c) => [c.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const contender of contenders) results.get(contender.name)!.push(await measure(contender, workers));
    }
    for (const rounds of results.values()) console.log(JSON.stringify(median(rounds)));
  }
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await server.stop();
}
process.exit();
