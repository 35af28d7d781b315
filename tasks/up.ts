import { appendFileSync, existsSync } from 'node:fs';
import { eventLine } from '../lib/agent/event-line.js';
import { describeFarm, farmPlan, startFarm } from '../lib/up/up.js';
import { parseOptions } from '../lib/options.js';
import { redactUrl } from '../lib/redis.js';
import { type TaskInput, defineTask, print, sayConfig } from '../lib/task.js';
import status from './status.js';

/** The status screen of `status --watch`, on this farm's queue, until `stop` fires. */
function watchStatus(input: TaskInput, redisUrl: string, stop: AbortSignal): Promise<number | void> {
  const loaded = input.config();
  return status.run({
    ...input,
    options: parseOptions('status', status.options, { watch: true }),
    positionals: [],
    config: () => ({ ...loaded, config: { ...loaded.config, redis: { ...loaded.config.redis, url: redisUrl } } }),
    interrupted: stop,
  });
}

export default defineTask({
  summary: 'run the farm on this machine in the foreground: Redis, agents, serve and the live status',
  usage: ['up [--agents <n>] [--port <n>] [--dry-run]'],
  details:
    'Starts a private redis-server (AOF, fsync always; its data under ~/.local/state/raibid), the\n' +
    'agents, and serve on 127.0.0.1, then shows the status screen (on a terminal; else one line per\n' +
    'job event). While it runs, dispatch, status, logs, jobs and agent reach its queue with no\n' +
    'config: it writes where to ~/.local/state/raibid/farm.json (a configured redis.url or\n' +
    'RAIBID_REDIS_URL still wins). Ctrl-C lets the agents finish the jobs in hand and stops it all;\n' +
    'the queue stays, and the next `up` goes on with it. A second Ctrl-C stops at once: a job cut\n' +
    'short runs again after the visibility timeout.',
  options: {
    agents: { kind: 'number', value: 'n', description: 'agents that run jobs, one job each', default: 1, min: 0, max: 64, integer: true },
    port: {
      kind: 'number',
      value: 'n',
      description: "serve's port (default: webhook.port, or any free one when that is taken)",
      min: 0,
      max: 65535,
      integer: true,
    },
    'dry-run': { kind: 'boolean', description: 'say what would start, start nothing' },
  },
  async run(input) {
    const { io } = input;
    const { agents, port } = input.options;
    const loaded = input.config();
    sayConfig(io, loaded);
    const plan = farmPlan(loaded, io.env, { agents, port });
    if (input.options['dry-run']) {
      for (const line of describeFarm(plan)) print(io, line);
      return 0;
    }
    if (loaded.config.redis.url && !loaded.farmPid) {
      io.stderr.write(`raibid-task: redis.url is set (${redactUrl(loaded.config.redis.url)}): dispatch, status and logs use that Redis, not this farm's\n`);
    }
    const screen = Boolean(io.stdout.isTTY);
    const say = screen ? (line: string) => appendFileSync(plan.logFile, `${line}\n`, { mode: 0o600 }) : (line: string) => print(io, line);
    const farm = await startFarm(plan, loaded, io.env, {
      onEvent: (agent, event) => say(eventLine(event, `agent ${agent}: `)),
      log: say,
      warn: screen ? say : (line) => io.stderr.write(`${line}\n`),
    });
    print(io, `up: redis ${redactUrl(farm.redisUrl)} (data in ${plan.redisDir}), serve ${farm.serveUrl}, ${agents} agent${agents === 1 ? '' : 's'}`);
    print(io, 'up: queue a build from another terminal: raibid-task dispatch --repo <path|url> --follow; Ctrl-C stops');
    const stopScreen = new AbortController();
    input.interrupted.addEventListener('abort', () => stopScreen.abort(), { once: true });
    try {
      if (screen) await watchStatus(input, farm.redisUrl, stopScreen.signal);
      else
        await new Promise<void>((resolve) =>
          input.interrupted.aborted ? resolve() : input.interrupted.addEventListener('abort', () => resolve(), { once: true }),
        );
    } finally {
      const busy = farm.busy();
      print(io, `up: stopping${busy ? `: the agents finish ${busy} job${busy === 1 ? '' : 's'} in hand (Ctrl-C again stops at once)` : ''}`);
      await farm.stop();
      print(
        io,
        `up: stopped; the queue is kept in ${plan.redisDir}${screen && existsSync(plan.logFile) ? `; what the agents and serve said is in ${plan.logFile}` : ''}`,
      );
    }
    return 0;
  },
});
