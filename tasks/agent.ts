import { commandRunner } from '../lib/agent/command-runner.js';
import { Worker, type WorkerEvent } from '../lib/agent/worker.js';
import { UserError } from '../lib/errors.js';
import { flag, numberOption, stringOption } from '../lib/options.js';
import { openQueue } from '../lib/queue/open.js';
import { redactUrl } from '../lib/redis.js';
import { type Task, type TaskIO, print } from '../lib/task.js';
import { shortRepo } from '../lib/ui/format.js';

function reporter(io: TaskIO) {
  return (event: WorkerEvent) => {
    const time = new Date().toISOString().slice(11, 19);
    switch (event.type) {
      case 'started':
        return print(io, `${time} ${event.job.id} started  ${shortRepo(event.job.repo)} ${event.job.ref} (attempt ${event.job.attempt}/${event.job.maxAttempts})`);
      case 'finished':
        return print(io, `${time} ${event.job.id} ${event.state} (exit ${event.exitCode})`);
      case 'skipped':
        return print(io, `${time} ${event.id} skipped: ${event.reason}`);
      case 'error':
        return io.stderr.write(`${time} queue error: ${event.error.message}\n`);
    }
  };
}

const task: Task = {
  summary: 'run queued jobs on this machine',
  usage: ['agent --exec <command> [--once] [--concurrency <n>] [--max-idle <s>] [--timeout <s>]'],
  details:
    'Takes jobs from the queue and runs them; several agents may run at once, here or on the\n' +
    "cluster. A job whose agent dies is picked up by another after the queue's visibility timeout.\n" +
    'The command runs under /bin/sh with RAIBID_JOB_ID, RAIBID_REPO, RAIBID_REF, RAIBID_SHA and\n' +
    'RAIBID_ATTEMPT set; exit 0 succeeds, exit 75 (EX_TEMPFAIL) asks for a retry, anything else fails.\n' +
    'Ctrl-C finishes the jobs in hand and stops; a second Ctrl-C stops at once.',
  options: {
    exec: { type: 'string', value: 'command', description: 'the command each job runs (default: agents.command)' },
    once: { type: 'boolean', description: 'handle one job, then exit' },
    concurrency: { type: 'string', value: 'n', description: 'jobs run at the same time (default: agents.concurrency)' },
    'max-idle': { type: 'string', value: 's', description: 'exit after this many seconds without a job' },
    timeout: { type: 'string', value: 's', description: 'fail a job that runs longer (default: agents.jobTimeoutSeconds)' },
  },
  async run(input) {
    const { io } = input;
    const concurrency = numberOption(input, 'agent', 'concurrency', { min: 1, max: 64, integer: true });
    const maxIdle = numberOption(input, 'agent', 'max-idle', { min: 0 });
    const timeout = numberOption(input, 'agent', 'timeout', { min: 1 });
    const { config } = input.config();
    const command = stringOption(input, 'agent', 'exec') ?? config.agents.command;
    if (!command) {
      throw new UserError('agent: no command to run jobs with', {
        hint: 'give --exec "<command>" or set agents.command in the config',
      });
    }
    const open = await openQueue(config, 'raibid-agent');
    const worker = new Worker(open.queue, {
      concurrency: concurrency ?? config.agents.concurrency,
      once: flag(input, 'once'),
      maxIdleMs: maxIdle === undefined ? undefined : maxIdle * 1000,
      jobTimeoutMs: (timeout ?? config.agents.jobTimeoutSeconds) * 1000,
      runner: commandRunner(command),
      connect: open.connect,
      onEvent: reporter(io),
    });
    input.interrupted.addEventListener('abort', () => worker.stop(), { once: true });
    print(io, `agent ${worker.name} waiting for jobs on ${redactUrl(open.url)}`);
    try {
      await worker.run();
    } finally {
      await open.close();
    }
    return 0;
  },
};

export default task;
