export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'dead'];

export interface Job {
  id: string;
  repo: string;
  ref: string;
  sha?: string;
  state: JobState;
  attempt: number;
  maxAttempts: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  notBefore?: number;
  exitCode?: number;
  error?: string;
  failedStep?: string;
  agent?: string;
  cancelRequested: boolean;
  /** What the runner reported beyond the exit code (steps, durations, cache figures). */
  result?: Record<string, unknown>;
  /** Free-form fields given at dispatch (source, commit-status target, ...). */
  meta: Record<string, string>;
}

const optionalNumber = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));
const optionalString = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

export function jobFromHash(hash: Record<string, string>): Job | undefined {
  if (!hash.id) return undefined;
  const meta: Record<string, string> = {};
  for (const [key, value] of Object.entries(hash)) {
    if (key.startsWith('meta.')) meta[key.slice(5)] = value;
  }
  return {
    id: hash.id,
    repo: hash.repo ?? '',
    ref: hash.ref ?? '',
    sha: optionalString(hash.sha),
    state: (hash.state ?? 'queued') as JobState,
    attempt: Number(hash.attempt ?? 0),
    maxAttempts: Number(hash.maxAttempts ?? 1),
    createdAt: Number(hash.createdAt ?? 0),
    startedAt: optionalNumber(hash.startedAt),
    finishedAt: optionalNumber(hash.finishedAt),
    notBefore: optionalNumber(hash.notBefore),
    exitCode: optionalNumber(hash.exitCode),
    error: optionalString(hash.error),
    failedStep: optionalString(hash.failedStep),
    agent: optionalString(hash.agent),
    cancelRequested: hash.cancelRequested === '1',
    result: hash.result ? (JSON.parse(hash.result) as Record<string, unknown>) : undefined,
    meta,
  };
}

export function isFinal(state: JobState): boolean {
  return FINAL_STATES.includes(state);
}

export function durationMs(job: Job, now: number): number | undefined {
  if (job.startedAt === undefined) return undefined;
  return (job.finishedAt ?? now) - job.startedAt;
}

/** Delay before attempt `attempt + 1` after a transient failure of attempt `attempt`. */
export function retryDelayMs(baseSeconds: number, attempt: number): number {
  return Math.min(baseSeconds * 1000 * 4 ** Math.max(0, attempt - 1), 60_000);
}

/** The job as `--json` prints it: ISO times, nulls for what is not known. */
export function jobView(job: Job, now = Date.now()) {
  return {
    id: job.id,
    repo: job.repo,
    ref: job.ref,
    sha: job.sha ?? null,
    state: job.state,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    createdAt: new Date(job.createdAt).toISOString(),
    startedAt: job.startedAt ? new Date(job.startedAt).toISOString() : null,
    finishedAt: job.finishedAt ? new Date(job.finishedAt).toISOString() : null,
    durationMs: durationMs(job, now) ?? null,
    exitCode: job.exitCode ?? null,
    failedStep: job.failedStep ?? null,
    error: job.error ?? null,
    agent: job.agent ?? null,
    cancelRequested: job.cancelRequested,
    result: job.result ?? null,
    meta: job.meta,
  };
}

export type JobView = ReturnType<typeof jobView>;
