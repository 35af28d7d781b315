import { sleep } from '../lib/poll.js';
import { withQueue } from '../lib/platform/redis-access.js';
import type { JobQueue } from '../lib/queue/queue.js';
import { snapshot } from '../lib/queue/snapshot.js';
import { defineTask, print, printJson } from '../lib/task.js';
import { ENTER_ALTERNATE_SCREEN, LEAVE_ALTERNATE_SCREEN, fitWidth, painter } from '../lib/ui/format.js';
import { runDashboard } from '../lib/ui/dashboard-run.js';
import { renderStatus } from '../lib/ui/status-view.js';

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export default defineTask({
  summary: 'the queue, the agents and recent jobs on one screen',
  usage: ['status [--watch] [--interval <s>] [--jobs <n>] [--json]'],
  details:
    '"waiting" is the consumer group\'s lag: jobs no agent has picked up yet, the number KEDA\n' +
    'scales agents on. "running" is the pending count: picked up and not yet finished; one held by\n' +
    'no live agent (its agent died) is taken over after the visibility timeout. "stream" counts the\n' +
    "stream's entries: the unfinished jobs plus finished ones not yet trimmed. With --watch at a\n" +
    'terminal the view is drawn on the alternate screen, cut to its width; Ctrl-C leaves it.',
  options: {
    watch: { kind: 'boolean', short: 'w', description: 'at a terminal, the interactive dashboard (↑↓ ⏎ c r / q); else redraw until interrupted' },
    interval: { kind: 'number', value: 's', description: 'seconds between redraws with --watch', default: 2, min: 0.1, max: 3600 },
    jobs: { kind: 'number', value: 'n', description: 'how many recent jobs to show', default: 10, min: 0, max: 1000, integer: true },
    json: { kind: 'boolean', description: 'print one JSON object (with --watch: one per line per interval)' },
  },
  async run(input) {
    const { io } = input;
    const { watch, json, jobs } = input.options;
    const intervalMs = input.options.interval * 1000;
    const redraw = Boolean(io.stdout.isTTY) && !json;
    const paint = painter(io.stdout, io.env);
    const { config } = input.config();
    const fit = (line: string) => (redraw && io.stdout.columns ? fitWidth(line, io.stdout.columns) : line);
    const leave = () => io.stdout.write(LEAVE_ALTERNATE_SCREEN);
    return withQueue(config, input.io.env, async ({ queue }) => {
      if (watch && !json && io.stdin?.isTTY && io.stdout === process.stdout && process.stdout.isTTY) {
        return runDashboard({ queue, stdin: io.stdin, stdout: process.stdout, paint, jobs, intervalMs, signal: input.interrupted });
      }
      if (!(redraw && watch)) return draw(queue);
      io.stdout.write(ENTER_ALTERNATE_SCREEN);
      // a second Ctrl-C exits at once: the terminal gets its screen back then too
      process.once('exit', leave);
      try {
        return await draw(queue);
      } finally {
        process.off('exit', leave);
        leave();
      }
    });

    async function draw(queue: JobQueue): Promise<number> {
      for (let first = true; first || (watch && !input.interrupted.aborted); first = false) {
        if (!first) await sleep(intervalMs, input.interrupted);
        if (input.interrupted.aborted) break;
        const snap = await snapshot(queue, { jobs });
        if (json) {
          if (watch) print(io, JSON.stringify(snap));
          else printJson(io, snap);
          continue;
        }
        const all = renderStatus(snap, paint);
        // one row stays free: a full screen would scroll its first line away
        const lines = redraw && watch && io.stdout.rows ? all.slice(0, Math.max(1, io.stdout.rows - 1)) : all;
        if (redraw && watch) io.stdout.write(CLEAR_SCREEN);
        else if (!first) print(io);
        for (const line of lines) print(io, fit(line));
      }
      return 0;
    }
  },
});
