import { writeFileSync } from 'node:fs';
import { eventLine } from '../lib/agent/event-line.js';
import { runnerFor } from '../lib/agent/runner-from-config.js';
import { Worker, type WorkerEvent } from '../lib/agent/worker.js';
import { sleep } from '../lib/poll.js';
import type { Config } from '../lib/config.js';
import { type OpenQueue, openQueue } from '../lib/queue/open.js';
import { redactUrl } from '../lib/redis.js';
import { type TaskIO, defineTask, print, sayConfig } from '../lib/task.js';
import { printable, shortRepo } from '../lib/ui/format.js';

function reporter(io: TaskIO) {
  return (event: WorkerEvent) => (event.type === 'error' ? io.stderr.write(`${eventLine(event)}\n`) : print(io, eventLine(event)));
}

/** An agent started while Redis is down waits for it (said once); other tasks fail at once. */
async function openWhenUp(config: Config, io: TaskIO, interrupted: AbortSignal): Promise<OpenQueue | undefined> {
  for (let attempt = 0; !interrupted.aborted; attempt++) {
    try {
      return await openQueue(config, 'raibid-agent');
    } catch (error) {
      if (attempt === 0) print(io, `${(error as Error).message}; waiting for it (Ctrl-C stops)`);
      await sleep(2000, interrupted);
    }
  }
  return undefined;
}

export default defineTask({
  summary: 'run queued jobs on this machine',
  usage: ['agent [--once] [--concurrency <n>] [--max-idle <s>] [--timeout <s>] [--exec <command>] [--claimed-file <path>]'],
  details:
    'Takes jobs from the queue and runs them; several agents may run at once, here or on the\n' +
    "cluster. A job whose agent dies is picked up by another after the queue's visibility timeout.\n" +
    'Each job is checked out into a fresh workspace and its pipeline run: the steps of its\n' +
    '.raibid.yml, else cargo fetch, cargo build --all-targets, cargo test, with cargo\n' +
    'home and target dir cached per repo (agents.cacheDir). With --exec, a shell command runs\n' +
    'instead, with RAIBID_JOB_ID, RAIBID_REPO, RAIBID_REF, RAIBID_SHA and RAIBID_ATTEMPT set.\n' +
    'Exit 0 succeeds; exit 75 (EX_TEMPFAIL) or a failed clone asks for a retry; anything else fails.\n' +
    'Ctrl-C finishes the jobs in hand and stops; a second Ctrl-C stops at once.',
  options: {
    exec: { kind: 'string', value: 'command', description: 'run this shell command per job instead of the pipeline' },
    once: { kind: 'boolean', description: 'handle one job, then exit' },
    concurrency: { kind: 'number', value: 'n', description: 'jobs run at the same time (default: agents.concurrency)', min: 1, max: 64, integer: true },
    'max-idle': { kind: 'number', value: 's', description: 'exit after this many seconds without a job', min: 0 },
    timeout: { kind: 'number', value: 's', description: 'fail a job that runs longer (default: agents.jobTimeoutSeconds)', min: 1 },
    'claimed-file': { kind: 'string', value: 'path', description: 'create this file once a job is claimed (the agent pod turns Ready on it)' },
  },
  async run(input) {
    const { io } = input;
    const { concurrency, 'max-idle': maxIdle, timeout, exec, 'claimed-file': claimedFile, once } = input.options;
    const loaded = input.config();
    const { config } = loaded;
    sayConfig(io, loaded);
    const runner = runnerFor(loaded, io.env, exec);
    const report = reporter(io);
    const open = await openWhenUp(config, input.io, input.interrupted);
    if (!open) return 130;
    const worker = new Worker(open.queue, {
      concurrency: concurrency ?? config.agents.concurrency,
      once,
      maxIdleMs: maxIdle === undefined ? undefined : maxIdle * 1000,
      jobTimeoutMs: (timeout ?? config.agents.jobTimeoutSeconds) * 1000,
      runner,
      connect: open.connect,
      onEvent: (event) => {
        if (event.type === 'started' && claimedFile) writeFileSync(claimedFile, `${event.job.id}\n`);
        report(event);
      },
    });
    input.interrupted.addEventListener(
      'abort',
      () => {
        worker.stop();
        const inHand = worker.held;
        if (inHand.length === 0) return print(io, 'stopping: no job in hand');
        const timeout = config.queue.visibilityTimeoutSeconds;
        const named = inHand.map((job) => `${job.id} (${shortRepo(job.repo)} ${printable(job.ref)})`);
        print(io, `stopping after the job${inHand.length > 1 ? 's' : ''} in hand: finishing ${named.join(', ')}`);
        print(
          io,
          `  Ctrl-C again stops at once: the job${inHand.length > 1 ? 's are' : ' is'} then taken over by another agent after ${timeout} s (as a new attempt)`,
        );
      },
      { once: true },
    );
    print(io, `agent ${worker.name} waiting for jobs on ${redactUrl(open.url)}`);
    try {
      await worker.run();
    } finally {
      await open.close();
    }
    return 0;
  },
});
