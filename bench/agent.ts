// Agent overhead around a trivial pipeline, beside the bare git commands of its checkout, and
// cold vs warm builds of a cargo workspace of several crates. One JSON line per measurement.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { ciRunner } from '../lib/agent/ci-runner.js';
import { Worker } from '../lib/agent/worker.js';
import type { JobQueue } from '../lib/queue/queue.js';
import { workspace } from '../test/fixtures/crates.js';
import { commitFiles } from '../test/fixtures/git.js';
import { makeQueue } from '../test/fixtures/queue.js';
import { startRedis } from '../test/fixtures/redis.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const MEMBERS = Number(process.env.BENCH_CRATES ?? 6);
const root = mkdtempSync(join(tmpdir(), 'raibid-bench-agent-'));

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (n: number) => Math.round(n * 10) / 10;

/** Runs one job through a real worker and returns wall time from enqueue to its recorded end. */
async function timeJob(queue: JobQueue, repo: string, ref: string): Promise<number> {
  const t0 = performance.now();
  const { id } = await queue.enqueue({ repo, ref });
  for (;;) {
    const job = await queue.get(id);
    if (job && ['succeeded', 'failed', 'dead'].includes(job.state)) {
      if (job.state !== 'succeeded') throw new Error(`${id} ${job.state}: ${job.error}`);
      return performance.now() - t0;
    }
    await new Promise((r) => setImmediate(r));
  }
}

function bareCheckout(repo: string, sha: string, dir: string): number {
  const t0 = performance.now();
  execFileSync('git', ['init', '-q', dir]);
  execFileSync('git', ['-C', dir, 'fetch', '-q', '--depth', '1', '--no-tags', repo, sha]);
  execFileSync('git', ['-C', dir, 'checkout', '-q', '--detach', 'FETCH_HEAD']);
  return performance.now() - t0;
}

const server = await startRedis();
try {
  const queue = makeQueue(new Redis(server.url));
  const cacheRoot = join(root, 'cache');
  const worker = new Worker(queue, {
    concurrency: 1,
    jobTimeoutMs: 600_000,
    runner: ciRunner({ cacheRoot }),
    connect: async () => new Redis(server.url),
  });
  const running = worker.run();

  const trivial = join(root, 'trivial');
  let sha = commitFiles(trivial, { '.raibid.yml': 'steps:\n  - name: noop\n    run: "true"\n', README: 'x\n' });
  const jobs: number[] = [];
  const clones: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    sha = commitFiles(trivial, { README: `change ${i}\n` }, `change ${i}`);
    jobs.push(await timeJob(queue, trivial, 'main'));
    const dir = join(root, `bare-${i}`);
    clones.push(bareCheckout(trivial, sha, dir));
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    JSON.stringify({
      name: 'agent overhead, trivial pipeline',
      job_p50_ms: round(median(jobs)),
      bare_checkout_p50_ms: round(median(clones)),
      overhead_beyond_checkout_p50_ms: round(median(jobs) - median(clones)),
      samples: SAMPLES,
    }),
  );

  const ws = join(root, 'workspace');
  commitFiles(ws, workspace(MEMBERS), 'workspace');
  const cold = await timeJob(queue, ws, 'main');
  commitFiles(ws, { 'member0/src/extra.rs': 'pub fn extra() -> u8 { 1 }\n' }, 'touch one crate');
  const warmOneChanged = await timeJob(queue, ws, 'main');
  commitFiles(ws, { 'NOTES.md': 'docs only\n' }, 'no code change');
  const warmUnchanged = await timeJob(queue, ws, 'main');
  console.log(
    JSON.stringify({
      name: `cargo workspace of ${MEMBERS} crates: cold vs warm cache`,
      cold_ms: Math.round(cold),
      warm_one_crate_changed_ms: Math.round(warmOneChanged),
      warm_unchanged_ms: Math.round(warmUnchanged),
      speedup_one_changed: round(cold / warmOneChanged),
      speedup_unchanged: round(cold / warmUnchanged),
    }),
  );
  worker.stop();
  await running;
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
}
process.exit();
