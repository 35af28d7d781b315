import type { JobView } from '../queue/job.js';
import { type Paint, formatDuration, paintState, printable, table } from './format.js';

interface StepRow {
  name: string;
  exitCode: number;
  durationMs: number;
  timedOut?: boolean;
}

const isStep = (value: unknown): value is StepRow =>
  typeof value === 'object' && value !== null && typeof (value as StepRow).name === 'string' && typeof (value as StepRow).exitCode === 'number';

/** `jobs show` for a person: the facts one a line, the commit built, then the steps as a table. */
export function renderJob(job: JobView, paint: Paint): string[] {
  const sha = job.sha ?? (typeof job.result?.sha === 'string' ? job.result.sha : null);
  const facts: [string, string | null][] = [
    ['id', job.id],
    ['repo', printable(job.repo)],
    ['ref', printable(job.ref)],
    ['sha', sha ?? (job.state === 'queued' ? 'resolved when an agent checks it out' : null)],
    ['state', paintState(paint, job.state) + (job.cancelRequested && job.state === 'running' ? ' (cancel requested)' : '')],
    ['attempt', `${job.attempt}/${job.maxAttempts}`],
    ['created', job.createdAt],
    ['started', job.startedAt],
    ['finished', job.finishedAt],
    ['duration', job.durationMs === null ? null : formatDuration(job.durationMs)],
    ['exit code', job.exitCode === null ? null : String(job.exitCode)],
    ['failed step', job.failedStep],
    ['error', job.error === null ? null : printable(job.error)],
    ['agent', job.agent === null ? null : printable(job.agent)],
    ...Object.entries(job.meta).map(([key, value]): [string, string] => [key, printable(value)]),
  ];
  const lines = facts.map(([label, value]) => `${label.padEnd(12)}${value ?? '-'}`);
  const steps = Array.isArray(job.result?.steps) ? job.result.steps.filter(isStep) : [];
  if (steps.length === 0)
    return [...lines, '', paint.dim(job.state === 'queued' || job.state === 'running' ? 'steps: none finished yet' : 'steps: none recorded')];
  const rows = steps.map((step) => [
    printable(step.name),
    step.timedOut ? paint.red('timed out') : step.exitCode === 0 ? paint.green('0') : paint.red(String(step.exitCode)),
    formatDuration(step.durationMs),
  ]);
  return [...lines, '', ...table(['STEP', 'EXIT', 'DURATION'], rows)];
}
