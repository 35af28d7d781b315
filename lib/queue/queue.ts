import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import { type Job, type JobState, jobFromHash, retryDelayMs } from './job.js';
import { AGENTS, COUNTERS, DEAD_STREAM, DEDUPE_PREFIX, GROUP, JOB_DIR_META, RECENT, STREAM, agentKey, jobKey, logKey } from './names.js';
import { cancelScript, claimScript, completeScript, enqueueScript, heartbeatScript, requeueScript, retryScript, startScript } from './scripts.js';

export interface QueueOptions {
  maxAttempts: number;
  visibilityTimeoutMs: number;
  retryBackoffSeconds: number;
  retainJobs: number;
  retainSeconds: number;
  logLines: number;
}

export function queueOptions(config: Config): QueueOptions {
  const q = config.queue;
  return {
    maxAttempts: q.maxAttempts,
    visibilityTimeoutMs: q.visibilityTimeoutSeconds * 1000,
    retryBackoffSeconds: q.retryBackoffSeconds,
    retainJobs: q.retainJobs,
    retainSeconds: Math.round(q.retainDays * 86400),
    logLines: q.logLines,
  };
}

export interface JobInput {
  repo: string;
  ref: string;
  sha?: string;
  meta?: Record<string, string>;
}

/** A job handed to one worker: valid while `lease` is the job's current lease. */
export interface Claim {
  entry: string;
  job: Job;
  consumer: string;
  lease: string;
}

export interface Outcome {
  state: Extract<JobState, 'succeeded' | 'failed' | 'cancelled'>;
  exitCode: number;
  error?: string;
  failedStep?: string;
  result?: Record<string, unknown>;
  /** A transient failure: run it again after a backoff while attempts remain. */
  retry?: boolean;
  /** The closing line of the job's log, written with the outcome. */
  summary?: string;
}

export type Started = { verdict: 'run'; claim: Claim } | { verdict: 'skip' | 'dead'; reason: string; id: string };

export interface LogLine {
  id: string;
  step: string;
  stream: 'out' | 'err' | 'raibid';
  line: string;
  ts: number;
}

export interface QueueStats {
  stream: string;
  group: string;
  /** Unfinished jobs: waiting (lag) plus running (pending). */
  length: number;
  /** XLEN: unfinished entries plus up to TRIM_SLACK finished ones not yet trimmed. */
  streamLength: number;
  lag: number | null;
  pending: number;
  dead: number;
  consumers: number;
  totals: Record<string, number>;
}

export interface AgentInfo {
  name: string;
  host: string;
  pid: number;
  jobs: string[];
  idleSinceMs: number | undefined;
  lastSeenMs: number;
}

const SCRIPTS = {
  raibidEnqueue: { numberOfKeys: 1, lua: enqueueScript },
  raibidStart: { numberOfKeys: 0, lua: startScript },
  raibidClaim: { numberOfKeys: 0, lua: claimScript },
  raibidHeartbeat: { numberOfKeys: 0, lua: heartbeatScript },
  raibidComplete: { numberOfKeys: 0, lua: completeScript },
  raibidCancel: { numberOfKeys: 0, lua: cancelScript },
  raibidRetry: { numberOfKeys: 0, lua: retryScript },
  raibidRequeue: { numberOfKeys: 0, lua: requeueScript },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type Scripted = Redis & Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

type StartReply = ['run', string, string, string[]] | ['skip' | 'dead', string, string, undefined];

const leasePrefix = randomBytes(6).toString('hex');
let leaseCount = 0;
const newLease = () => `${leasePrefix}-${(leaseCount += 1).toString(36)}`;

/** A stream entry as the worker side needs it: its id and the job it names. */
const delivered = ([entry, fields]: [string, string[]]) => ({ entry, id: String(pairs(fields).job) });

export function newJobId(now = Date.now()): string {
  return `${now.toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function dedupeKey(input: Pick<JobInput, 'repo' | 'ref' | 'sha' | 'meta'>): string {
  const target = input.sha ? `sha:${input.sha}` : `ref:${input.ref}`;
  // builds of two folders of one repository are two jobs
  const dir = input.meta?.[JOB_DIR_META] ? `\ndir:${input.meta[JOB_DIR_META]}` : '';
  return DEDUPE_PREFIX + createHash('sha1').update(`${input.repo}\n${target}${dir}`).digest('hex');
}

/** Turns ioredis' flat [k1, v1, k2, v2] replies into objects. */
export function pairs(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

/** Creates `group` on `stream` (and the stream) from its start, unless it is there. */
export async function createGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
  }
}

export class JobQueue {
  readonly redis: Scripted;
  private groupReady = false;
  /** Where the scan for stalled entries goes on (XAUTOCLAIM answers 0-0 once it has been round). */
  private reclaimCursor = '0-0';

  constructor(
    redis: Redis,
    readonly options: QueueOptions,
  ) {
    for (const [name, definition] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, definition);
    }
    this.redis = redis as Scripted;
  }

  async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    await createGroup(this.redis, STREAM, GROUP);
    this.groupReady = true;
  }

  async enqueue(input: JobInput, now = Date.now()): Promise<{ id: string; created: boolean }> {
    await this.ensureGroup();
    const meta = Object.entries(input.meta ?? {}).flat();
    const [id, created] = (await this.redis.raibidEnqueue(
      dedupeKey(input),
      newJobId(now),
      now,
      input.repo,
      input.ref,
      input.sha ?? '',
      this.options.maxAttempts,
      this.options.retainJobs,
      ...meta,
    )) as [string, number];
    return { id, created: created === 1 };
  }

  async get(id: string): Promise<Job | undefined> {
    return jobFromHash(await this.redis.hgetall(jobKey(id)));
  }

  /** get(), for an id a user gave: one that names no job is their error. */
  async mustGet(id: string): Promise<Job> {
    const job = await this.get(id);
    if (!job) throw new UserError(`no job with id '${id}'`, { hint: 'see `raibid-task jobs list` for recent ids' });
    return job;
  }

  async list(options: { limit?: number; state?: JobState } = {}): Promise<Job[]> {
    const limit = options.limit ?? 20;
    const ids = await this.redis.zrevrange(RECENT, 0, options.state ? Math.max(limit * 10, 500) : limit - 1);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(jobKey(id));
    const replies = (await pipeline.exec()) ?? [];
    const jobs = replies
      .map(([, hash]) => jobFromHash(hash as Record<string, string>))
      .filter((job): job is Job => job !== undefined && (!options.state || job.state === options.state));
    return jobs.slice(0, limit);
  }

  async cancel(id: string, now = Date.now()): Promise<string> {
    return (await this.redis.raibidCancel(id, now, this.options.retainSeconds)) as string;
  }

  async retry(id: string, now = Date.now()): Promise<string> {
    await this.ensureGroup();
    return (await this.redis.raibidRetry(id, now)) as string;
  }

  /** The same three reads KEDA's redis-streams scaler makes: XLEN, XPENDING, XINFO GROUPS (lag). */
  async stats(): Promise<QueueStats> {
    await this.ensureGroup();
    const [streamLength, pendingSummary, groups, dead, totals] = await Promise.all([
      this.redis.xlen(STREAM),
      this.redis.xpending(STREAM, GROUP) as Promise<unknown[]>,
      this.redis.xinfo('GROUPS', STREAM) as Promise<unknown[][]>,
      this.redis.xlen(DEAD_STREAM),
      this.redis.hgetall(COUNTERS),
    ]);
    const group = groups.map(pairs).find((info) => info.name === GROUP) ?? {};
    const lag = group.lag === null || group.lag === undefined ? null : Number(group.lag);
    const pending = Number(pendingSummary[0] ?? 0);
    return {
      stream: STREAM,
      group: GROUP,
      length: lag === null ? streamLength : lag + pending,
      streamLength,
      lag,
      pending,
      dead,
      consumers: Number(group.consumers ?? 0),
      totals: Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, Number(v)])),
    };
  }

  async deadLetters(count = 20): Promise<{ job: string; reason: string; attempt: number; at: number }[]> {
    const entries = await this.redis.xrevrange(DEAD_STREAM, '+', '-', 'COUNT', count);
    return entries.map(([, fields]) => {
      const f = pairs(fields);
      return { job: String(f.job), reason: String(f.reason), attempt: Number(f.attempt), at: Number(f.at) };
    });
  }

  async persistence(): Promise<{ appendonly: string; appendfsync: string } | undefined> {
    try {
      const [, appendonly, , appendfsync] = [
        ...((await this.redis.config('GET', 'appendonly')) as string[]),
        ...((await this.redis.config('GET', 'appendfsync')) as string[]),
      ];
      return { appendonly: appendonly ?? 'unknown', appendfsync: appendfsync ?? 'unknown' };
    } catch {
      return undefined;
    }
  }

  // --- the worker's side -------------------------------------------------------------

  /**
   * Takes over one entry whose worker stopped heart-beating for the visibility timeout. Redis
   * looks at ten pending entries a call: the scan goes on from where the last call stopped, so a
   * stalled entry behind many live ones is reached within a few calls, not never.
   */
  async reclaim(consumer: string): Promise<Started | undefined> {
    await this.ensureGroup();
    const [next, stalled] = ((await this.guardGroup(
      this.redis.xautoclaim(STREAM, GROUP, consumer, this.options.visibilityTimeoutMs, this.reclaimCursor, 'COUNT', 1),
    )) ?? ['0-0', []]) as [string, [string, string[]][]];
    this.reclaimCursor = next;
    const entry = stalled[0];
    return entry ? this.start(delivered(entry), consumer) : undefined;
  }

  /**
   * Puts back up to `count` jobs whose worker stopped heart-beating for the visibility timeout,
   * as new entries that the group's lag (what KEDA scales on) counts. Returns their ids.
   */
  async requeueStalled(count = 100, now = Date.now()): Promise<string[]> {
    await this.ensureGroup();
    const { visibilityTimeoutMs, logLines, retainSeconds } = this.options;
    const ids = await this.guardGroup(this.redis.raibidRequeue(Math.ceil(visibilityTimeoutMs), count, now, logLines, retainSeconds));
    return (ids ?? []) as string[];
  }

  /** Takes and starts the next new entry, if one is waiting, in one round trip. */
  async claimNext(consumer: string, now = Date.now()): Promise<Started | undefined> {
    await this.ensureGroup();
    const lease = newLease();
    const reply = await this.guardGroup(this.redis.raibidClaim(consumer, lease, now, this.options.retainSeconds));
    return reply ? this.started(reply as StartReply, consumer, lease) : undefined;
  }

  /** Waits up to `blockMs` for a new entry on `blocking`, a connection of its own, and starts it. */
  async waitForNext(consumer: string, blocking: Redis, blockMs: number): Promise<Started | undefined> {
    await this.ensureGroup();
    const reply = (await this.guardGroup(blocking.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 1, 'BLOCK', blockMs, 'STREAMS', STREAM, '>'))) as
      [string, [string, string[]][]][] | null | undefined;
    const entry = reply?.[0]?.[1][0];
    return entry ? this.start(delivered(entry), consumer) : undefined;
  }

  /** Turns a delivered entry into a claim to run, or says why there is nothing to run. */
  async start(taken: { entry: string; id: string }, consumer: string, now = Date.now()): Promise<Started> {
    const lease = newLease();
    const reply = await this.redis.raibidStart(taken.entry, taken.id, consumer, lease, now, this.options.retainSeconds);
    return this.started(reply as StartReply, consumer, lease);
  }

  private started([verdict, detail, id, hash]: StartReply, consumer: string, lease: string): Started {
    if (verdict !== 'run') return { verdict, reason: detail, id };
    const job = jobFromHash(pairs(hash!) as Record<string, string>)!;
    return { verdict, claim: { entry: detail, job, consumer, lease } };
  }

  /** The stream or group was deleted under us (FLUSHALL, a Redis without persistence restarting). */
  private async guardGroup<T>(command: Promise<T>): Promise<T | undefined> {
    try {
      return await command;
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOGROUP')) throw error;
      this.groupReady = false;
      return undefined;
    }
  }

  async heartbeat(claim: Claim, now = Date.now()): Promise<'ok' | 'cancel' | 'lost'> {
    return (await this.redis.raibidHeartbeat(claim.job.id, claim.entry, claim.consumer, claim.lease, now)) as 'ok' | 'cancel' | 'lost';
  }

  /** Records the outcome once; returns the job's new state, or 'ignored' for a stale lease. */
  async complete(claim: Claim, outcome: Outcome, now = Date.now()): Promise<string> {
    return (await this.completeMany([{ claim, outcome }], undefined, now)).states[0]!;
  }

  /** complete(), and with `consumer` given, claim the next waiting entry in the same round trip. */
  async completeAndClaim(claim: Claim, outcome: Outcome, consumer: string | undefined, now = Date.now()): Promise<{ state: string; next?: Started }> {
    const { states, started } = await this.completeMany([{ claim, outcome }], consumer ? { consumer, count: 1 } : undefined, now);
    return { state: states[0]!, next: started[0] };
  }

  /**
   * Records several outcomes (each once: 'ignored' for a stale lease) and, with `next` given,
   * starts up to `next.count` waiting entries for `next.consumer`, all in one round trip.
   */
  async completeMany(
    done: { claim: Claim; outcome: Outcome }[],
    next: { consumer: string; count: number } | undefined,
    now = Date.now(),
  ): Promise<{ states: string[]; started: Started[] }> {
    const { retainSeconds, logLines, retryBackoffSeconds } = this.options;
    const leases = Array.from({ length: next?.count ?? 0 }, newLease);
    const args: (string | number)[] = [now, retainSeconds, logLines, next?.consumer ?? '', done.length];
    for (const { claim, outcome } of done) {
      args.push(
        claim.job.id,
        claim.lease,
        outcome.state,
        outcome.exitCode,
        outcome.error ?? '',
        outcome.failedStep ?? '',
        outcome.result ? JSON.stringify(outcome.result) : '',
        outcome.retry ? '1' : '0',
        retryDelayMs(retryBackoffSeconds, claim.job.attempt),
        outcome.summary ?? '',
      );
    }
    const [states, starts] = (await this.redis.raibidComplete(...args, ...leases)) as [string[], StartReply[]];
    return { states, started: starts.map((reply, i) => this.started(reply, next!.consumer, leases[i]!)) };
  }

  async appendLog(id: string, lines: Omit<LogLine, 'id'>[]): Promise<void> {
    if (lines.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const l of lines) {
      pipeline.xadd(logKey(id), 'MAXLEN', '~', this.options.logLines, '*', 'step', l.step, 's', l.stream, 'line', l.line, 'ts', l.ts);
    }
    await pipeline.exec();
  }

  async readLog(id: string, after = '-', count = 10_000): Promise<LogLine[]> {
    const start = after === '-' ? '-' : `(${after}`;
    const entries = await this.redis.xrange(logKey(id), start, '+', 'COUNT', count);
    return entries.map(([entryId, fields]) => {
      const f = pairs(fields);
      return {
        id: entryId,
        step: String(f.step),
        stream: String(f.s) as LogLine['stream'],
        line: String(f.line),
        ts: Number(f.ts),
      };
    });
  }

  // --- agents --------------------------------------------------------------------------

  async registerAgent(info: Omit<AgentInfo, 'lastSeenMs'>, ttlMs: number, now = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .hset(agentKey(info.name), {
        name: info.name,
        host: info.host,
        pid: info.pid,
        jobs: info.jobs.join(','),
        idleSince: info.idleSinceMs ?? '',
        lastSeen: now,
      })
      .pexpire(agentKey(info.name), ttlMs)
      .zadd(AGENTS, now, info.name)
      .exec();
  }

  async unregisterAgent(name: string): Promise<void> {
    await this.redis.multi().del(agentKey(name)).zrem(AGENTS, name).exec();
    const mine = (await this.redis.call('XPENDING', STREAM, GROUP, '-', '+', 1, name)) as unknown[];
    if (mine.length === 0) await this.redis.xgroup('DELCONSUMER', STREAM, GROUP, name);
  }

  /**
   * Deletes consumers left by agents that died (a pod killed mid-job leaves one behind) once
   * they hold no entries and were idle for `minIdleMs`.
   */
  async pruneConsumers(minIdleMs: number): Promise<string[]> {
    const consumers = ((await this.guardGroup(this.redis.xinfo('CONSUMERS', STREAM, GROUP))) ?? []) as unknown[][];
    const gone = consumers
      .map(pairs)
      .filter((c) => Number(c.pending) === 0 && Number(c.idle) >= minIdleMs)
      .map((c) => String(c.name));
    for (const name of gone) await this.redis.xgroup('DELCONSUMER', STREAM, GROUP, name);
    return gone;
  }

  async agents(staleMs: number, now = Date.now()): Promise<AgentInfo[]> {
    await this.redis.zremrangebyscore(AGENTS, '-inf', now - staleMs);
    const names = await this.redis.zrange(AGENTS, '0', '-1');
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.hgetall(agentKey(name));
    const replies = (await pipeline.exec()) ?? [];
    return replies
      .map(([, hash]) => hash as Record<string, string>)
      .filter((hash) => hash.name)
      .map((hash) => ({
        name: hash.name!,
        host: hash.host ?? '',
        pid: Number(hash.pid),
        jobs: hash.jobs ? hash.jobs.split(',') : [],
        idleSinceMs: hash.idleSince ? Number(hash.idleSince) : undefined,
        lastSeenMs: Number(hash.lastSeen),
      }));
  }
}
