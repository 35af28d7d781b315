import type { Redis } from 'ioredis';
import { sleep } from '../poll.js';
import type { Job } from '../queue/job.js';
import { STATUS_GROUP, STATUS_STREAM, STATUS_TARGET } from '../queue/names.js';
import { type JobQueue, createGroup, pairs } from '../queue/queue.js';
import { GiteaApiError } from './client.js';
import { type CommitState, type GiteaAccess, setCommitStatus } from './commit-status.js';

/** A state change the queue's scripts wrote for a job with a commit-status target. */
export interface StatusEvent {
  state: string;
  attempt: number;
}

const CONFIG_STEPS = new Set(['checkout', '.raibid.yml']);

/** What Gitea shows beside the commit for one state change of its job. */
export function commitStatusFor(event: StatusEvent, job: Job): { state: CommitState; description: string } | undefined {
  const steps = Array.isArray(job.result?.steps) ? job.result.steps.length : undefined;
  switch (event.state) {
    case 'running':
      return { state: 'pending', description: `attempt ${event.attempt} running` };
    case 'queued':
      return { state: 'pending', description: `attempt ${event.attempt} failed, retrying: ${job.error ?? 'transient failure'}` };
    case 'succeeded':
      return { state: 'success', description: steps === undefined ? 'passed' : `${steps} steps passed` };
    case 'failed':
      return { state: job.failedStep && CONFIG_STEPS.has(job.failedStep) ? 'error' : 'failure', description: job.error ?? `exit code ${job.exitCode}` };
    case 'cancelled':
      return { state: 'error', description: 'cancelled' };
    case 'dead':
      return { state: 'error', description: job.error ?? 'gave up' };
    default:
      return undefined;
  }
}

export interface StatusReporterOptions {
  queue: JobQueue;
  /** A connection of its own for the blocking read. */
  blocking: Redis;
  gitea: GiteaAccess;
  signal: AbortSignal;
  log(line: string): void;
}

const CONSUMER = 'serve';
const RETRY_MAX_MS = 30_000;

/**
 * Sets the commit statuses of the jobs the queue's scripts wrote events for, in order, until
 * `signal` fires. An event is acknowledged once Gitea took it (or refused it for good, a 4xx);
 * when Gitea or Redis is away the unacknowledged ones are sent again with backoff, so a
 * restarted `serve` reports what happened while it was down. The agents hold no Gitea token.
 */
export async function reportStatuses(options: StatusReporterOptions): Promise<void> {
  const { queue, blocking, signal } = options;
  let failures = 0;
  // own pending events first (a previous run's, not yet taken by Gitea), then new ones
  let cursor = '0';
  while (!signal.aborted) {
    try {
      if (cursor === '0') await createGroup(queue.redis, STATUS_STREAM, STATUS_GROUP);
      const reply = (
        cursor === '>'
          ? await blocking.xreadgroup('GROUP', STATUS_GROUP, CONSUMER, 'COUNT', 50, 'BLOCK', 2000, 'STREAMS', STATUS_STREAM, cursor)
          : await blocking.xreadgroup('GROUP', STATUS_GROUP, CONSUMER, 'COUNT', 50, 'STREAMS', STATUS_STREAM, cursor)
      ) as [string, [string, string[]][]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (cursor !== '>' && entries.length === 0) cursor = '>';
      for (const [entry, flat] of entries as [string, string[] | null][]) {
        // an entry trimmed away while pending comes without fields
        if (flat) await report(options, flat);
        await queue.redis.xack(STATUS_STREAM, STATUS_GROUP, entry);
        if (cursor !== '>') cursor = entry;
      }
      failures = 0;
    } catch (error) {
      if (signal.aborted) break;
      if (failures === 0) options.log(`commit statuses wait: ${(error as Error).message}; sent again once it answers`);
      failures += 1;
      cursor = '0';
      await sleep(Math.min(RETRY_MAX_MS, 500 * 2 ** failures), signal);
    }
  }
}

async function report(options: StatusReporterOptions, flat: string[]): Promise<void> {
  const fields = pairs(flat);
  const job = await options.queue.get(String(fields.job));
  const repo = job?.meta[STATUS_TARGET];
  const status = job && commitStatusFor({ state: String(fields.state), attempt: Number(fields.attempt) }, job);
  if (!job?.sha || !repo || !status) return;
  try {
    await setCommitStatus(options.gitea, { repo, sha: job.sha }, status.state, status.description);
  } catch (error) {
    if (!(error instanceof GiteaApiError) || error.status >= 500 || error.status === 429) throw error;
    options.log(`commit status of ${job.id} not set: ${error.message}`);
  }
}
