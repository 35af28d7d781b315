import type { Redis } from 'ioredis';
import { type Job, isFinal } from './job.js';
import { logKey } from './names.js';
import type { JobQueue, LogLine } from './queue.js';

const FOLLOW_BLOCK_MS = 1000;

export interface Follow {
  onLine(line: LogLine): void;
  /** Called with the job before each wait for more: to say it is still queued, or has started. */
  onWait?(job: Job): void;
  /** Whether to stop following before the job ends (it may throw instead). */
  stop?(job: Job): boolean;
}

/**
 * The job's log from its first line, then as the agent writes it, until the job ends or `stop`
 * says so; `blocking` waits for new lines. Returns the job as it last was.
 */
export async function followJob(queue: JobQueue, blocking: Redis, job: Job, follow: Follow): Promise<Job> {
  let after = '-';
  const drain = async () => {
    for (const line of await queue.readLog(job.id, after)) {
      follow.onLine(line);
      after = line.id;
    }
  };
  await drain();
  while (!isFinal(job.state) && !follow.stop?.(job)) {
    follow.onWait?.(job);
    await blocking.xread('BLOCK', FOLLOW_BLOCK_MS, 'STREAMS', logKey(job.id), after === '-' ? '0-0' : after);
    await drain();
    job = (await queue.get(job.id)) ?? { ...job, state: 'dead' };
  }
  if (isFinal(job.state)) await drain();
  return job;
}
