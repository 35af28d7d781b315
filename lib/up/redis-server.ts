import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failure } from '../errors.js';
import { REDIS_PERSISTENCE } from '../queue/persistence.js';
import { connectRedis } from '../redis.js';
import { writeFileAtomic } from '../paths.js';
import { pollUntil } from '../poll.js';

export interface RedisServerPlan {
  dir: string;
  port: number;
  password: string;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;

/** The private redis-server's config: loopback only, a password, every write fsync'ed to the AOF before it is answered. */
export function redisConfig(plan: RedisServerPlan): string {
  return [
    `bind 127.0.0.1`,
    `port ${plan.port}`,
    `dir ${plan.dir}`,
    `requirepass ${plan.password}`,
    `appendonly ${REDIS_PERSISTENCE.appendonly}`,
    `appendfsync ${REDIS_PERSISTENCE.appendfsync}`,
    `save ""`,
    `daemonize no`,
    `logfile redis.log`,
    '',
  ].join('\n');
}

export const redisUrlOf = (plan: RedisServerPlan) => `redis://:${encodeURIComponent(plan.password)}@127.0.0.1:${plan.port}`;

export function hasRedisServer(): boolean {
  return !spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error;
}

export const redisServerMissing = () =>
  failure('redis-server not found: the local farm keeps its queue in a private redis-server', 'install it: sudo apt-get install redis-server (Redis ≥ 7)');

const hasSetpriv = () => !spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).error;

export interface RunningRedis {
  url: string;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function logTail(dir: string): string {
  const file = join(dir, 'redis.log');
  if (!existsSync(file)) return 'no log';
  return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' / ') || 'empty log';
}

/** Whether a Redis answers PING at `url` (not yet while it starts, or replays its AOF). */
async function answersPing(url: string): Promise<boolean> {
  try {
    const probe = await connectRedis(url, { name: 'raibid-up-probe' });
    const answer = await probe.ping().catch((error: Error) => error.message);
    probe.disconnect();
    return answer === 'PONG';
  } catch {
    return false;
  }
}

/**
 * Starts redis-server on `plan` in the foreground, as a child that dies with this process
 * (kill -9 included, through setpriv's parent-death signal), and waits until it answers: after a
 * restart it first replays its AOF. `stop` shuts it down cleanly (SIGTERM: the AOF is complete).
 * Its caller has checked that redis-server is installed (hasRedisServer).
 */
export async function startRedisServer(plan: RedisServerPlan): Promise<RunningRedis> {
  const conf = join(plan.dir, 'redis.conf');
  writeFileAtomic(conf, redisConfig(plan));
  const [file, args] = hasSetpriv() ? ['setpriv', ['--pdeathsig', 'TERM', '--', 'redis-server', conf]] : ['redis-server', [conf]];
  // a process group of its own: the terminal's Ctrl-C goes to up, which stops Redis after the agents are done with it
  const child = spawn(file, args, { cwd: plan.dir, stdio: 'ignore', detached: true });
  const url = redisUrlOf(plan);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited(child);
    clearTimeout(timer);
  };
  const log = `see ${join(plan.dir, 'redis.log')}`;
  try {
    await pollUntil('redis-server', { timeoutMs: START_TIMEOUT_MS, pollMs: 50, hint: log }, async () => {
      if (child.exitCode !== null) throw failure(`redis-server exited at start (code ${child.exitCode}): ${logTail(plan.dir)}`, log);
      return (await answersPing(url)) ? undefined : `an answer to PING (log: ${logTail(plan.dir)})`;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
