import { flag, numberOption } from '../lib/options.js';
import { withQueue } from '../lib/platform/redis-access.js';
import { snapshot } from '../lib/queue/snapshot.js';
import { type Task, print, printJson } from '../lib/task.js';
import { painter } from '../lib/ui/format.js';
import { runDashboard } from '../lib/ui/dashboard-run.js';
import { renderStatus } from '../lib/ui/status-view.js';

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

const task: Task = {
  summary: 'the queue, the agents and recent jobs on one screen',
  usage: ['status [--watch] [--interval <s>] [--jobs <n>] [--json]'],
  details:
    '"waiting" is the consumer group\'s lag: jobs no agent has picked up yet, the number KEDA\n' +
    'scales agents on. "running" is the pending count: picked up and not yet finished.',
  options: {
    watch: { type: 'boolean', short: 'w', description: 'at a terminal, the interactive dashboard (↑↓ ⏎ c r / q); else redraw until interrupted' },
    interval: { type: 'string', value: 's', description: 'seconds between redraws with --watch', default: '2' },
    jobs: { type: 'string', value: 'n', description: 'how many recent jobs to show', default: '10' },
    json: { type: 'boolean', description: 'print one JSON object (with --watch: one per line per interval)' },
  },
  async run(input) {
    const { io } = input;
    const intervalMs = (numberOption(input, 'status', 'interval', { min: 0.1, max: 3600 }) ?? 2) * 1000;
    const jobs = numberOption(input, 'status', 'jobs', { min: 0, max: 1000, integer: true }) ?? 10;
    const json = flag(input, 'json');
    const watch = flag(input, 'watch');
    const redraw = Boolean(io.stdout.isTTY) && !json;
    const paint = painter(io.stdout, io.env);
    const { config } = input.config();
    return withQueue(config, input.io.env, async ({ queue }) => {
      if (watch && !json && io.stdin?.isTTY && io.stdout === process.stdout && process.stdout.isTTY) {
        return runDashboard({ queue, stdin: io.stdin, stdout: process.stdout, paint, jobs, intervalMs, signal: input.interrupted });
      }
      for (let first = true; first || (watch && !input.interrupted.aborted); first = false) {
        if (!first) await waitOrInterrupt(intervalMs, input.interrupted);
        if (input.interrupted.aborted) break;
        const snap = await snapshot(queue, { jobs });
        if (json) {
          if (watch) print(io, JSON.stringify(snap));
          else printJson(io, snap);
          continue;
        }
        const lines = renderStatus(snap, paint);
        if (redraw && watch) io.stdout.write(CLEAR_SCREEN);
        else if (!first) print(io);
        for (const line of lines) print(io, line);
      }
      return 0;
    });
  },
};

function waitOrInterrupt(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

export default task;
