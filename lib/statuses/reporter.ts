import type { Redis } from 'ioredis';
import { sleep } from '../poll.js';
import { STATUS_GROUP, STATUS_STREAM, statusSentKey } from '../queue/names.js';
import { type JobQueue, createGroup, pairs } from '../queue/queue.js';
import { commitStatusFor } from './describe.js';
import type { StatusSink } from './targets.js';

export interface StatusReporterOptions {
  queue: JobQueue;
  /** A connection of its own for the blocking read. */
  blocking: Redis;
  sinks: StatusSink[];
  /** The job page a status links to, if serve has a public URL. */
  linkTo(jobId: string): string | undefined;
  signal: AbortSignal;
  log(line: string): void;
  /** The first wait after a failure; it doubles up to 30 s. */
  retryBaseMs?: number;
  /** Transient failures of one sink for one event before that status is given up. */
  maxTries?: number;
}

const CONSUMER = 'serve';
const RETRY_MAX_MS = 30_000;
export const MAX_TRIES = 8;
const SENT_TTL_S = 7 * 24 * 3600;

/**
 * Sets the commit statuses of the jobs the queue's scripts wrote events for, in order, on every
 * sink (Gitea, GitHub), until `signal` fires. An event is acknowledged once every sink took it,
 * refused it for good (a 4xx), or failed MAX_TRIES times; which sinks took it is kept in Redis,
 * so an event sent again (Redis or a sink away, serve restarted) goes only where it had not
 * gone. A restarted `serve` reports what happened while it was down. Agents hold no token.
 */
export async function reportStatuses(options: StatusReporterOptions): Promise<void> {
  const { queue, blocking, signal } = options;
  const base = options.retryBaseMs ?? 500;
  let failures = 0;
  // own pending events first (a previous run's, not yet taken everywhere), then new ones
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
        if (flat) await report(options, entry, flat);
        await queue.redis.multi().xack(STATUS_STREAM, STATUS_GROUP, entry).del(statusSentKey(entry)).exec();
        if (cursor !== '>') cursor = entry;
      }
      failures = 0;
    } catch (error) {
      if (signal.aborted) break;
      if (failures === 0) options.log(`commit statuses wait: ${(error as Error).message}; sent again once it answers`);
      failures += 1;
      cursor = '0';
      await sleep(Math.min(RETRY_MAX_MS, base * 2 ** (failures - 1)), signal);
    }
  }
}

async function report(options: StatusReporterOptions, entry: string, flat: string[]): Promise<void> {
  const { redis } = options.queue;
  const fields = pairs(flat);
  const job = await options.queue.get(String(fields.job));
  const status = job && commitStatusFor({ state: String(fields.state), attempt: Number(fields.attempt) }, job);
  if (!job?.sha || !status) return;
  const key = statusSentKey(entry);
  const sent = await redis.hgetall(key);
  for (const sink of options.sinks) {
    const repo = sink.repoOf(job);
    if (!repo || sent[sink.name]) continue;
    try {
      await sink.post(repo, job.sha, status, options.linkTo(job.id));
    } catch (error) {
      if (sink.isPermanent(error)) options.log(`${sink.name} commit status of ${job.id} not set: ${(error as Error).message}`);
      else {
        const tries = await redis.hincrby(key, `${sink.name}.tries`, 1);
        await redis.expire(key, SENT_TTL_S);
        if (tries < (options.maxTries ?? MAX_TRIES)) throw error;
        options.log(`${sink.name} commit status of ${job.id} given up after ${tries} tries: ${(error as Error).message}`);
      }
    }
    await redis.multi().hset(key, sink.name, '1').expire(key, SENT_TTL_S).exec();
  }
}
