import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir, writeFileAtomic } from '../paths.js';

/** What a running `raibid-task up` tells the other tasks: where its queue is. */
export interface FarmState {
  pid: number;
  redisUrl: string;
  serveUrl: string;
  startedAt: string;
}

export const farmStateFile = (env: NodeJS.ProcessEnv) => join(stateDir(env), 'farm.json');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The farm `up` is running now, if any: a file left by one that was killed names a dead pid and is ignored. */
export function runningFarm(env: NodeJS.ProcessEnv): FarmState | undefined {
  const file = farmStateFile(env);
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as FarmState;
    return typeof state.pid === 'number' && typeof state.redisUrl === 'string' && isAlive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

export function writeFarmState(env: NodeJS.ProcessEnv, state: FarmState): void {
  writeFileAtomic(farmStateFile(env), `${JSON.stringify(state, null, 2)}\n`);
}

export function removeFarmState(env: NodeJS.ProcessEnv, pid: number): void {
  const file = farmStateFile(env);
  try {
    if ((JSON.parse(readFileSync(file, 'utf8')) as FarmState).pid === pid) rmSync(file, { force: true });
  } catch {
    // gone already, or another farm's
  }
}
