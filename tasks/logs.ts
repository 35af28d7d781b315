import { UserError } from '../lib/errors.js';
import { followJob } from '../lib/queue/follow.js';
import type { Job } from '../lib/queue/job.js';
import { withQueue } from '../lib/platform/redis-access.js';
import type { LogLine } from '../lib/queue/queue.js';
import { defineTask, print } from '../lib/task.js';
import { formatLogLine, painter, paintState, printable } from '../lib/ui/format.js';

export default defineTask({
  summary: "print a job's log, or follow it live",
  usage: ['logs <id> [--follow] [--json]'],
  details:
    'With --follow it prints lines as the agent writes them and ends when the job does; the\n' + 'exit code is then 0 when the job succeeded and 1 otherwise.',
  options: {
    follow: { kind: 'boolean', short: 'f', description: 'keep printing until the job ends' },
    json: { kind: 'boolean', description: 'one JSON object per line: step, stream, line, ts' },
  },
  positionals: 1,
  async run(input) {
    const id = input.positionals[0];
    if (!id) throw new UserError('logs: which job? give its id', { hint: 'raibid-task logs <id> (ids: raibid-task jobs list)' });
    const { io } = input;
    const { follow, json } = input.options;
    const paint = painter(io.stdout, io.env);
    const show = (l: LogLine) => {
      if (json) print(io, JSON.stringify({ step: l.step, stream: l.stream, line: l.line, ts: l.ts }));
      else print(io, formatLogLine(paint, l));
    };
    const { config } = input.config();
    return withQueue(config, input.io.env, async ({ queue, connect }) => {
      const found = await queue.mustGet(id);
      if (!follow) {
        for (const line of await queue.readLog(id)) show(line);
        return 0;
      }
      const blocking = await connect();
      let waited = false;
      let job: Job;
      try {
        job = await followJob(queue, blocking, found, {
          onLine: show,
          stop: () => input.interrupted.aborted,
          onWait: (now) => {
            if (now.state === 'queued' && !waited) {
              waited = true;
              io.stderr.write(`job ${id} is queued: waiting for an agent to pick it up (start one with \`raibid-task agent\`; Ctrl-C stops waiting)\n`);
            } else if (now.state === 'running' && waited) {
              waited = false;
              io.stderr.write(`job ${id} started${now.agent ? ` on ${printable(now.agent)}` : ''}\n`);
            }
          },
        });
      } finally {
        blocking.disconnect();
      }
      if (input.interrupted.aborted) return 130;
      if (!json) io.stderr.write(`job ${id} ${paintState(paint, job.state)}\n`);
      return job.state === 'succeeded' ? 0 : 1;
    });
  },
});
