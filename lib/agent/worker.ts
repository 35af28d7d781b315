import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Job } from '../queue/job.js';
import type { Claim, JobQueue, LogLine, Outcome, Started } from '../queue/queue.js';
import type { RunResult, Runner } from './runner.js';
import { sleep } from '../poll.js';

export interface WorkerOptions {
  name?: string;
  concurrency: number;
  /** Stop after one job has been handled. */
  once?: boolean;
  /** Stop when no job arrived for this long. */
  maxIdleMs?: number;
  jobTimeoutMs: number;
  runner: Runner;
  /** Opens a connection of its own for each slot's blocking read. */
  connect: () => Promise<Redis>;
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: 'started'; job: Job }
  | { type: 'finished'; job: Job; state: string; exitCode: number }
  | { type: 'skipped'; id: string; reason: string }
  | { type: 'error'; error: Error };

const LOG_FLUSH_MS = 100;
const PRUNE_EVERY_MS = 60_000;
const PRUNE_IDLE_MS = 10 * 60_000;

export function agentName(): string {
  return `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Buffers log lines and writes them in batches; `close` flushes the rest. */
class LogBuffer {
  private lines: Omit<LogLine, 'id'>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly queue: JobQueue,
    private readonly jobId: string,
  ) {}

  add(line: string, step: string, stream: LogLine['stream']): void {
    this.lines.push({ step, stream, line, ts: Date.now() });
    this.timer ??= setTimeout(() => this.flush(), LOG_FLUSH_MS);
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.lines;
    this.lines = [];
    this.writing = this.writing.then(() => this.queue.appendLog(this.jobId, batch)).catch(() => {});
    return this.writing;
  }

  close(): Promise<void> {
    return this.flush();
  }
}

type Recorded = { state: string; next?: Started };

/**
 * Outcomes of slots that finish in the same turn of the event loop go to Redis in one call,
 * which also starts the next job of each slot that wants one.
 */
class Completions {
  private waiting: { claim: Claim; outcome: Outcome; next: boolean; resolve(r: Recorded): void; reject(e: Error): void }[] = [];

  constructor(
    private readonly queue: JobQueue,
    private readonly consumer: string,
  ) {}

  record(claim: Claim, outcome: Outcome, next: boolean): Promise<Recorded> {
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ claim, outcome, next, resolve, reject }) === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    const wanted = batch.filter((w) => w.next).length;
    try {
      const { states, started } = await this.queue.completeMany(batch, wanted > 0 ? { consumer: this.consumer, count: wanted } : undefined);
      let given = 0;
      batch.forEach((w, i) => w.resolve({ state: states[i]!, next: w.next ? started[given++] : undefined }));
    } catch (error) {
      for (const w of batch) w.reject(error as Error);
    }
  }
}

export class Worker {
  readonly name: string;
  private stopping = false;
  private readonly running = new Map<string, Claim>();
  private idleSince = Date.now();
  private lastReclaim = 0;
  private lastPrune = Date.now();
  private readonly wake = new AbortController();
  private readonly completions: Completions;

  /** The jobs it runs now (one whose run has ended, or whose lease was lost, is no longer one). */
  get held(): Job[] {
    return [...this.running.values()].map((claim) => claim.job);
  }

  constructor(
    private readonly queue: JobQueue,
    private readonly options: WorkerOptions,
  ) {
    this.name = options.name ?? agentName();
    this.completions = new Completions(queue, this.name);
  }

  get heartbeatMs(): number {
    return Math.max(50, Math.min(1000, this.queue.options.visibilityTimeoutMs / 3));
  }

  /** Finishes the jobs in hand, takes no new ones. */
  stop(): void {
    this.stopping = true;
    this.wake.abort();
  }

  async run(): Promise<void> {
    const slots = this.options.once ? 1 : this.options.concurrency;
    await this.register().catch(() => {});
    const beat = setInterval(() => void this.register().catch(() => {}), this.heartbeatMs);
    try {
      await Promise.all(Array.from({ length: slots }, () => this.slot()));
    } finally {
      clearInterval(beat);
      await this.queue.unregisterAgent(this.name).catch(() => {});
    }
  }

  private register(): Promise<void> {
    return this.queue.registerAgent(
      {
        name: this.name,
        host: hostname(),
        pid: process.pid,
        jobs: [...this.running.keys()],
        idleSinceMs: this.running.size === 0 ? this.idleSince : undefined,
      },
      this.heartbeatMs * 3,
    );
  }

  private async slot(): Promise<void> {
    let blocking: Redis;
    try {
      blocking = await this.connect();
    } catch {
      return;
    }
    try {
      while (!this.stopping) {
        let started: Started | undefined;
        try {
          started = await this.next(blocking);
        } catch (error) {
          if (this.stopping) break;
          this.options.onEvent?.({ type: 'error', error: error as Error });
          await sleep(1000, this.wake.signal);
          continue;
        }
        if (!started) {
          const idleMs = Date.now() - this.idleSince;
          if (this.options.maxIdleMs !== undefined && this.running.size === 0 && idleMs >= this.options.maxIdleMs) {
            this.stop();
          }
          continue;
        }
        while (started) {
          if (started.verdict !== 'run') {
            this.options.onEvent?.({ type: 'skipped', id: started.id, reason: started.verdict === 'dead' ? 'dead' : started.reason });
            break;
          }
          started = await this.process(started.claim);
          if (this.options.once) this.stop();
        }
      }
    } finally {
      blocking.disconnect();
    }
  }

  private reclaimDue(): boolean {
    return Date.now() - this.lastReclaim >= Math.min(1000, this.queue.options.visibilityTimeoutMs / 2);
  }

  /** A stalled job first (checked about once a second), else a waiting one, else wait for one. */
  private async next(blocking: Redis): Promise<Started | undefined> {
    const { visibilityTimeoutMs } = this.queue.options;
    if (this.reclaimDue()) {
      this.lastReclaim = Date.now();
      if (this.lastReclaim - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = this.lastReclaim;
        await this.queue.pruneConsumers(Math.max(PRUNE_IDLE_MS, visibilityTimeoutMs * 10));
      }
      const reclaimed = await this.queue.reclaim(this.name);
      if (reclaimed) return reclaimed;
    }
    return (await this.queue.claimNext(this.name)) ?? (await this.queue.waitForNext(this.name, blocking, Math.min(2000, visibilityTimeoutMs)));
  }

  /** Runs a claimed job and records its outcome; returns the next job when it came along. */
  private async process(claim: Claim): Promise<Started | undefined> {
    const { job } = claim;
    this.running.set(job.id, claim);
    this.options.onEvent?.({ type: 'started', job });
    const controller = new AbortController();
    let reason: 'cancel' | 'lost' | 'timeout' | undefined;
    const abort = (why: typeof reason) => {
      reason ??= why;
      controller.abort();
    };
    const beat = setInterval(() => {
      this.queue
        .heartbeat(claim)
        .then((verdict) => {
          if (verdict === 'cancel') abort('cancel');
          if (verdict === 'lost') abort('lost');
        })
        .catch(() => {});
    }, this.heartbeatMs);
    const log = new LogBuffer(this.queue, job.id);
    let result: RunResult;
    try {
      if (job.notBefore && job.notBefore > Date.now()) {
        log.add(`attempt ${job.attempt} waits ${job.notBefore - Date.now()} ms before retrying`, 'queue', 'raibid');
        await sleep(job.notBefore - Date.now(), controller.signal);
      }
      const timeout = setTimeout(() => abort('timeout'), this.options.jobTimeoutMs);
      try {
        result = controller.signal.aborted
          ? { exitCode: 130, error: 'cancelled before it started' }
          : await this.options.runner({
              job,
              signal: controller.signal,
              log: (line, o = {}) => log.add(line, o.step ?? 'job', o.stream ?? 'out'),
            });
      } finally {
        clearTimeout(timeout);
      }
    } catch (error) {
      result = { exitCode: -1, transient: true, error: `agent error: ${(error as Error).message}` };
    } finally {
      clearInterval(beat);
    }
    await log.close();
    this.running.delete(job.id);
    this.idleSince = Date.now();
    if (reason === 'lost') return undefined;
    const outcome = toOutcome(result, reason, this.options.jobTimeoutMs);
    outcome.summary = `attempt ${job.attempt} ended: ${describe(result, reason, this.options.jobTimeoutMs)}`;
    const chain = !this.stopping && !this.options.once && !this.reclaimDue();
    const { state, next } = await this.record(claim, outcome, chain);
    this.options.onEvent?.({ type: 'finished', job, state, exitCode: result.exitCode });
    return next;
  }

  /**
   * Records the outcome however long Redis is away: the result is kept and sent again until it
   * is taken; a completion that comes too late (the lease went to another agent) or twice is
   * ignored by the queue's script.
   */
  private record(claim: Claim, outcome: Outcome, chain: boolean) {
    return this.untilRedisAnswers(
      (attempt) => this.completions.record(claim, outcome, chain && attempt === 0),
      (error) => new Error(`cannot record ${claim.job.id} yet (${error.message}): the result is kept and sent again once Redis answers`),
    );
  }

  /** A connection, however long Redis takes to come back, unless the agent stops meanwhile. */
  private connect(): Promise<Redis> {
    return this.untilRedisAnswers(
      () => this.options.connect(),
      (error) => error,
      this.wake.signal,
    );
  }

  /** `run` tried again with backoff until it succeeds, the first failure said once; given `stop`, until that fires. */
  private async untilRedisAnswers<T>(run: (attempt: number) => Promise<T>, say: (error: Error) => Error, stop?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run(attempt);
      } catch (error) {
        if (attempt === 0) this.options.onEvent?.({ type: 'error', error: say(error as Error) });
        await sleep(Math.min(RETRY_MAX_MS, 250 * 2 ** attempt), stop ?? new AbortController().signal);
        if (stop?.aborted) throw error;
      }
    }
  }
}

function describe(result: RunResult, reason: string | undefined, timeoutMs: number): string {
  if (reason === 'cancel') return 'cancelled';
  if (reason === 'timeout') return `timed out after ${timeoutMs / 1000} s`;
  if (reason === 'lost') return 'lease lost to another agent';
  return result.error ?? `exit code ${result.exitCode}`;
}

export function toOutcome(result: RunResult, reason: 'cancel' | 'lost' | 'timeout' | undefined, timeoutMs: number): Outcome {
  const common = { exitCode: result.exitCode, failedStep: result.failedStep, result: result.details };
  if (reason === 'cancel') return { ...common, state: 'cancelled', error: 'cancelled' };
  if (reason === 'timeout') return { ...common, state: 'failed', error: `timed out after ${timeoutMs / 1000} s` };
  if (result.exitCode === 0 && !result.error) return { ...common, state: 'succeeded' };
  return { ...common, state: 'failed', error: result.error ?? `exit code ${result.exitCode}`, retry: result.transient };
}

const RETRY_MAX_MS = 5000;
