import { printable, shortRepo } from '../ui/format.js';
import type { WorkerEvent } from './worker.js';

/** A worker's event as its log says it: the time, whose (`agent 2: `, or nobody's), and what happened to which job. */
export function eventLine(event: WorkerEvent, who = ''): string {
  const time = new Date().toISOString().slice(11, 19);
  switch (event.type) {
    case 'started':
      return `${time} ${who}${event.job.id} started  ${shortRepo(event.job.repo)} ${printable(event.job.ref)} (attempt ${event.job.attempt}/${event.job.maxAttempts})`;
    case 'finished':
      return `${time} ${who}${event.job.id} ${event.state} (exit ${event.exitCode})`;
    case 'skipped':
      return `${time} ${who}${event.id} skipped: ${event.reason}`;
    case 'error':
      return `${time} ${who}queue error: ${event.error.message}`;
  }
}
