import { UserError } from '../lib/errors.js';
import { flag } from '../lib/options.js';
import { isFinal } from '../lib/queue/job.js';
import { logKey } from '../lib/queue/names.js';
import { withQueue } from '../lib/platform/redis-access.js';
import type { LogLine } from '../lib/queue/queue.js';
import { type Task, print } from '../lib/task.js';
import { formatLogLine, painter, paintState, printable } from '../lib/ui/format.js';

const FOLLOW_BLOCK_MS = 1000;

const task: Task = {
  summary: "print a job's log, or follow it live",
  usage: ['logs <id> [--follow] [--json]'],
  details:
    'With --follow it prints lines as the agent writes them and ends when the job does; the\n' + 'exit code is then 0 when the job succeeded and 1 otherwise.',
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep printing until the job ends' },
    json: { type: 'boolean', description: 'one JSON object per line: step, stream, line, ts' },
  },
  positionals: 1,
  async run(input) {
    const id = input.positionals[0];
    if (!id) throw new UserError('logs: which job? give its id', { hint: 'raibid-task logs <id> (ids: raibid-task jobs list)' });
    const { io } = input;
    const paint = painter(io.stdout, io.env);
    const show = (l: LogLine) => {
      if (flag(input, 'json')) print(io, JSON.stringify({ step: l.step, stream: l.stream, line: l.line, ts: l.ts }));
      else print(io, formatLogLine(paint, l));
    };
    const { config } = input.config();
    return withQueue(config, input.io.env, async ({ queue, connect }) => {
      let job = await queue.get(id);
      if (!job) throw new UserError(`no job with id '${id}'`, { hint: 'see `raibid-task jobs list` for recent ids' });
      let after = '-';
      const drain = async () => {
        for (const line of await queue.readLog(id, after)) {
          show(line);
          after = line.id;
        }
      };
      await drain();
      if (!flag(input, 'follow')) return 0;
      const blocking = await connect();
      let waited = false;
      try {
        while (!isFinal(job.state) && !input.interrupted.aborted) {
          if (job.state === 'queued' && !waited) {
            waited = true;
            io.stderr.write(`job ${id} is queued: waiting for an agent to pick it up (start one with \`raibid-task agent\`; Ctrl-C stops waiting)\n`);
          } else if (job.state === 'running' && waited) {
            waited = false;
            io.stderr.write(`job ${id} started${job.agent ? ` on ${printable(job.agent)}` : ''}\n`);
          }
          await blocking.xread('BLOCK', FOLLOW_BLOCK_MS, 'STREAMS', logKey(id), after === '-' ? '0-0' : after);
          await drain();
          job = (await queue.get(id)) ?? { ...job, state: 'dead' };
        }
      } finally {
        blocking.disconnect();
      }
      if (input.interrupted.aborted) return 130;
      await drain();
      if (!flag(input, 'json')) io.stderr.write(`job ${id} ${paintState(painter(io.stdout, io.env), job.state)}\n`);
      return job.state === 'succeeded' ? 0 : 1;
    });
  },
};

export default task;
