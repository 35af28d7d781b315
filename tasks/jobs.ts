import { UserError } from '../lib/errors.js';
import { defineOptions } from '../lib/options.js';
import { JOB_STATES, jobView } from '../lib/queue/job.js';
import { withQueue } from '../lib/platform/redis-access.js';
import type { JobQueue } from '../lib/queue/queue.js';
import { type TaskInput, defineTask, print, printJson, sayConfig } from '../lib/task.js';
import { painter } from '../lib/ui/format.js';
import { jobsTable } from '../lib/ui/status-view.js';
import { renderJob } from '../lib/ui/job-view.js';

const ACTIONS = ['list', 'show', 'cancel', 'retry'] as const;
type Action = (typeof ACTIONS)[number];

const options = defineOptions({
  state: { kind: 'string', value: 'state', description: `only jobs in this state (${JOB_STATES.join(', ')})`, choices: JOB_STATES, choiceName: 'job state' },
  limit: { kind: 'number', value: 'n', description: 'how many jobs to list', default: 20, min: 1, max: 10_000, integer: true },
  json: { kind: 'boolean', description: 'print JSON' },
  'dry-run': { kind: 'boolean', description: 'say what cancel or retry would do, change nothing' },
});
type Input = TaskInput<typeof options>;

function jobId(input: Input, action: Action): string {
  const id = input.positionals[1];
  if (!id) throw new UserError(`jobs ${action}: which job? give its id`, { hint: `raibid-task jobs ${action} <id>` });
  return id;
}

const CHANGE_VERBS: Record<string, { dry: string; done: string }> = {
  cancel: { dry: 'would cancel', done: 'cancelled' },
  retry: { dry: 'would queue again', done: 'queued again' },
};

async function change(input: Input, queue: JobQueue, action: 'cancel' | 'retry'): Promise<number> {
  const { io } = input;
  const { json } = input.options;
  const job = await queue.mustGet(jobId(input, action));
  const allowed = action === 'cancel' ? ['queued', 'running'] : ['failed', 'dead', 'cancelled', 'succeeded'];
  if (!allowed.includes(job.state)) {
    throw new UserError(`job ${job.id} is ${job.state}: nothing to ${action}`, {
      hint: action === 'cancel' ? 'only a queued or running job can be cancelled' : 'only a finished job can be retried',
    });
  }
  sayConfig(io, input.config());
  if (input.options['dry-run']) {
    if (json) printJson(io, { dryRun: true, id: job.id, action, state: job.state });
    else print(io, `${CHANGE_VERBS[action]!.dry} job ${job.id} (${job.state})`);
    return 0;
  }
  const result = action === 'cancel' ? await queue.cancel(job.id) : await queue.retry(job.id);
  if (!['cancelled', 'cancelling', 'queued'].includes(result)) {
    throw new UserError(`job ${job.id} became ${result} meanwhile: nothing to ${action}`, { exitCode: 1 });
  }
  if (json) printJson(io, { id: job.id, action, result });
  else if (result === 'cancelling') print(io, `job ${job.id} is running: its agent was told to stop`);
  else print(io, `${CHANGE_VERBS[action]!.done} job ${job.id}`);
  return 0;
}

export default defineTask({
  summary: 'list, show, cancel or retry jobs',
  usage: [
    'jobs list [--state <state>] [--limit <n>] [--json]',
    'jobs show <id> [--json]',
    'jobs cancel <id> [--dry-run] [--json]',
    'jobs retry <id> [--dry-run] [--json]',
  ],
  details:
    'cancel: a queued job is never run; a running one is stopped by its agent within about a second.\n' +
    'retry: a finished job (failed, dead, cancelled or succeeded) is queued again with fresh attempts.',
  options,
  positionals: 2,
  actions: ACTIONS,
  async run(input) {
    const action = (input.positionals[0] ?? 'list') as Action;
    const { state, limit, json } = input.options;
    const { io } = input;
    const { config } = input.config();
    return withQueue(config, input.io.env, async ({ queue }) => {
      if (action === 'cancel' || action === 'retry') return change(input, queue, action);
      if (action === 'show') {
        const job = await queue.mustGet(jobId(input, 'show'));
        if (json) printJson(io, jobView(job));
        else for (const line of renderJob(jobView(job), painter(io.stdout, io.env))) print(io, line);
        return 0;
      }
      const jobs = await queue.list({ limit, state });
      if (json) {
        printJson(
          io,
          jobs.map((job) => jobView(job)),
        );
        return 0;
      }
      if (jobs.length === 0) print(io, 'no jobs yet: queue one with `raibid-task dispatch --repo <url|path>`');
      else
        for (const line of jobsTable(
          jobs.map((job) => jobView(job)),
          painter(io.stdout, io.env),
        ))
          print(io, line);
      return 0;
    });
  },
});
