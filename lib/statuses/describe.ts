import { durationMs, type Job } from '../queue/job.js';
import { formatDuration } from '../ui/format.js';

export type CommitState = 'pending' | 'success' | 'failure' | 'error';

/** A state change the queue's scripts wrote for a job with a commit-status target. */
export interface StatusEvent {
  state: string;
  attempt: number;
}

export interface CommitStatus {
  state: CommitState;
  description: string;
}

/** GitHub refuses a longer description (422 "description is too long (maximum is 140 characters)"). */
export const DESCRIPTION_MAX = 140;

const CONFIG_STEPS = new Set(['checkout', '.raibid.yml']);

const clip = (text: string) => (text.length <= DESCRIPTION_MAX ? text : `${text.slice(0, DESCRIPTION_MAX - 1)}…`);
const took = (job: Job) => formatDuration(durationMs(job, job.finishedAt ?? job.startedAt ?? 0));

/** What GitHub and Gitea show beside the commit for one state change of its job. */
export function commitStatusFor(event: StatusEvent, job: Job): CommitStatus | undefined {
  const steps = Array.isArray(job.result?.steps) ? job.result.steps.length : undefined;
  const status = (state: CommitState, description: string): CommitStatus => ({ state, description: clip(description) });
  switch (event.state) {
    case 'queued':
      return event.attempt === 0
        ? status('pending', 'queued')
        : status('pending', `attempt ${event.attempt} failed, retrying: ${job.error ?? 'transient failure'}`);
    case 'running':
      return status('pending', `attempt ${event.attempt} running`);
    case 'succeeded':
      return status('success', `${steps === undefined ? 'passed' : `${steps} steps passed`} in ${took(job)}`);
    case 'failed': {
      const where = job.failedStep ? `${job.failedStep} failed` : 'failed';
      const state = job.failedStep && CONFIG_STEPS.has(job.failedStep) ? 'error' : 'failure';
      return status(state, `${where} after ${took(job)}: ${job.error ?? `exit code ${job.exitCode}`}`);
    }
    case 'cancelled':
      return status('error', `cancelled after ${took(job)}`);
    case 'dead':
      return status('error', job.error ?? 'gave up');
    default:
      return undefined;
  }
}
