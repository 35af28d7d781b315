import type { JobView } from '../queue/job.js';
import type { Snapshot } from '../queue/snapshot.js';
import { type Paint, formatDuration, paintState, shortRepo, table } from './format.js';

/** The status screen as lines: pure, so the watch loop only decides how to draw them. */
export function renderStatus(s: Snapshot, paint: Paint): string[] {
  const q = s.queue;
  const lag = q.lag === null ? paint.red('unknown') : String(q.lag);
  const aof = q.persistence
    ? q.persistence.appendonly === 'yes'
      ? `aof ${q.persistence.appendfsync}`
      : paint.red('aof off: jobs can be lost on a crash')
    : 'persistence unknown';
  const unheld = q.unheld > 0 ? paint.yellow(`; ${q.unheld} held by no live agent: taken over after ${q.visibilityTimeoutSeconds} s`) : '';
  const counts = table(
    ['', '', ''],
    [
      ['waiting', lag, paint.dim('queued, not yet picked up by an agent (what KEDA scales on)')],
      ['running', String(q.pending), paint.dim('picked up, not finished') + unheld],
      ['dead', q.dead > 0 ? paint.red(String(q.dead)) : '0', paint.dim('out of attempts: raibid-task jobs list --state dead')],
      ['stream', String(q.streamLength), paint.dim('entries: the unfinished jobs, plus finished ones not yet trimmed')],
    ],
  ).slice(1);
  const lines = [
    paint.bold(`queue ${q.stream} · group ${q.group}`) + paint.dim(`  ${s.at.slice(0, 19).replace('T', ' ')}Z  ${aof}`),
    ...counts.map((l) => `  ${l}`),
    `  done    ${q.totals.succeeded ?? 0} succeeded, ${q.totals.failed ?? 0} failed, ${q.totals.cancelled ?? 0} cancelled, ${q.totals.dead ?? 0} dead, ${q.totals.retried ?? 0} retries`,
    '',
    paint.bold(`agents (${s.agents.length})`),
  ];
  if (s.agents.length === 0) lines.push(paint.dim('  none running: start one with `raibid-task agent`, or KEDA starts them on the cluster'));
  else {
    const rows = s.agents.map((a) => [a.name, a.jobs.length ? paint.cyan(a.jobs.join(',')) : '-', a.idleMs === null ? '-' : formatDuration(a.idleMs)]);
    lines.push(...table(['NAME', 'JOB', 'IDLE'], rows).map((l) => `  ${l}`));
  }
  lines.push('', paint.bold('recent jobs'));
  if (s.jobs.length === 0) lines.push(paint.dim('  none yet: raibid-task dispatch --repo <url|path>'));
  else lines.push(...jobsTable(s.jobs, paint).map((l) => `  ${l}`));
  return lines;
}

/** Jobs a line each, as `status` and `jobs list` show them. */
export function jobsTable(jobs: JobView[], paint: Paint): string[] {
  const rows = jobs.map((j) => [
    j.id,
    shortRepo(j.repo),
    j.ref,
    paintState(paint, j.state),
    `${j.attempt}/${j.maxAttempts}`,
    formatDuration(j.durationMs ?? undefined),
  ]);
  return table(['ID', 'REPO', 'REF', 'STATE', 'ATTEMPT', 'DURATION'], rows);
}
