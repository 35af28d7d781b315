import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { runnerFor } from '../agent/runner-from-config.js';
import { Worker, type WorkerEvent } from '../agent/worker.js';
import type { LoadedConfig } from '../config.js';
import { failure } from '../errors.js';
import { tryLock } from '../lock.js';
import { ownedDir, stateDir } from '../paths.js';
import { REDIS_PERSISTENCE } from '../queue/persistence.js';
import { type OpenQueue, openQueue } from '../queue/open.js';
import { type Serving, startServe } from '../webhook/serve.js';
import { type RunningRedis, hasRedisServer, redisServerMissing, startRedisServer } from './redis-server.js';
import { farmStateFile, removeFarmState, writeFarmState } from './state.js';

export interface FarmPlan {
  stateDir: string;
  redisDir: string;
  stateFile: string;
  logFile: string;
  agents: number;
  host: string;
  port: number;
  /** The port was the default, not asked for: when it is taken, any free one will do. */
  portIsDefault: boolean;
}

export function farmPlan(loaded: LoadedConfig, env: NodeJS.ProcessEnv, options: { agents: number; port?: number }): FarmPlan {
  const dir = stateDir(env);
  return {
    stateDir: dir,
    redisDir: join(dir, 'redis'),
    stateFile: farmStateFile(env),
    logFile: join(dir, 'up.log'),
    agents: options.agents,
    host: '127.0.0.1',
    port: options.port ?? loaded.config.webhook.port,
    portIsDefault: options.port === undefined,
  };
}

/** What `up --dry-run` prints. */
export function describeFarm(plan: FarmPlan): string[] {
  return [
    `would start redis-server on 127.0.0.1 (a free port, a new password), data in ${plan.redisDir} (appendonly ${REDIS_PERSISTENCE.appendonly}, appendfsync ${REDIS_PERSISTENCE.appendfsync})`,
    `would run ${plan.agents} agent${plan.agents === 1 ? '' : 's'} on this machine`,
    `would serve webhooks on ${plan.host} port ${plan.port}${plan.portIsDefault ? ' (another free port if it is taken)' : ''}`,
    `would write ${plan.stateFile}, where dispatch, status, logs and jobs find the queue while it runs`,
  ];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Farm {
  redisUrl: string;
  serveUrl: string;
  /** Jobs the agents hold right now. */
  busy(): number;
  stop(): Promise<void>;
}

export interface FarmHooks {
  onEvent(agent: number, event: WorkerEvent): void;
  log(line: string): void;
  warn(line: string): void;
}

async function serveOn(plan: FarmPlan, start: (port: number) => Promise<Serving>): Promise<Serving> {
  try {
    return await start(plan.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (!plan.portIsDefault) throw failure(`up: port ${plan.port} on ${plan.host} is in use`, 'choose another with --port, or 0 for any free one');
    return start(0);
  }
}

/**
 * Starts the farm of `plan`: the private redis-server, serve and the agents, then says where its
 * queue is. One farm per state dir (a lock the kernel drops when this process is gone). Whatever
 * started is stopped again when a later part fails.
 */
export async function startFarm(plan: FarmPlan, loaded: LoadedConfig, env: NodeJS.ProcessEnv, hooks: FarmHooks): Promise<Farm> {
  if (!hasRedisServer()) throw redisServerMissing();
  // the queue holds every job's log: for this user's eyes only
  for (const dir of [plan.stateDir, plan.redisDir]) chmodSync(ownedDir(dir, 'the local farm (XDG_STATE_HOME)'), 0o700);
  const lock = tryLock(join(plan.stateDir, 'farm.lock'));
  if ('heldBy' in lock) {
    throw failure(
      `up: another raibid-task up is running${lock.heldBy ? ` (pid ${lock.heldBy})` : ''} on ${plan.stateDir}`,
      'its queue is the one dispatch, status and logs reach; stop it with Ctrl-C where it runs',
    );
  }
  const undo: (() => Promise<void>)[] = [async () => lock.release()];
  const unwind = async () => {
    for (const step of undo.reverse()) await step().catch(() => {});
  };
  try {
    const runner = runnerFor(loaded, env);
    const redis: RunningRedis = await startRedisServer({ dir: plan.redisDir, port: await freePort(), password: randomBytes(24).toString('hex') });
    undo.push(redis.stop);
    const open: OpenQueue = await openQueue(loaded.config, 'raibid-up', redis.url);
    undo.push(open.close);
    const serving = await serveOn(plan, (port) =>
      startServe({
        config: loaded.config,
        secrets: loaded.secrets,
        webhookSecret: loaded.secrets.webhookSecret ?? randomBytes(24).toString('hex'),
        open,
        host: plan.host,
        port,
        log: hooks.log,
        warn: hooks.warn,
      }),
    );
    undo.push(serving.stop);
    const serveUrl = `http://${plan.host}:${serving.address.port}`;
    writeFarmState(env, { pid: process.pid, redisUrl: redis.url, serveUrl, startedAt: new Date().toISOString() });
    undo.push(async () => removeFarmState(env, process.pid));
    const workers = Array.from(
      { length: plan.agents },
      (_, i) =>
        new Worker(open.queue, {
          concurrency: 1,
          jobTimeoutMs: loaded.config.agents.jobTimeoutSeconds * 1000,
          runner,
          connect: open.connect,
          onEvent: (event) => hooks.onEvent(i + 1, event),
        }),
    );
    const runs = workers.map((worker) => worker.run());
    undo.push(async () => {
      for (const worker of workers) worker.stop();
      await Promise.allSettled(runs);
    });
    return {
      redisUrl: redis.url,
      serveUrl,
      busy: () => workers.reduce((n, worker) => n + worker.held.length, 0),
      stop: unwind,
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}
