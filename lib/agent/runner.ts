import type { Job } from '../queue/job.js';

export interface RunContext {
  job: Job;
  /** Aborted when the job is cancelled, times out, or its lease is lost. */
  signal: AbortSignal;
  log(line: string, options?: { step?: string; stream?: 'out' | 'err' | 'raibid' }): void;
}

export interface RunResult {
  exitCode: number;
  failedStep?: string;
  error?: string;
  /** An infrastructure failure worth another attempt (not a failing build). */
  transient?: boolean;
  details?: Record<string, unknown>;
}

export type Runner = (context: RunContext) => Promise<RunResult>;
