import { spawnSync } from 'node:child_process';
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { failure } from './errors.js';

export interface Lock {
  /** The open file the lock is on: a child given it (as a spawn stdio entry) holds the lock too. */
  fd: number;
  release(): void;
}

/**
 * An exclusive flock(2) on `path`, taken by flock(1) on a descriptor this process keeps open.
 * The kernel drops it when the last descriptor of that open file closes: on release, or once
 * this process and every child it handed the descriptor to are gone. No pid to go stale or be
 * reused, no window between finding a lock dead and taking it. Returns the lock, or the pid
 * written by whoever holds it (0 when unknown).
 */
export function tryLock(path: string): Lock | { heldBy: number } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const taken = spawnSync('flock', ['--nonblock', '--exclusive', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  if (taken.error || (taken.status !== 0 && taken.status !== 1)) {
    closeSync(fd);
    throw failure(
      `cannot lock ${path}: flock(1) ${taken.error ? 'is missing' : `failed: ${String(taken.stderr).trim()}`}`,
      'install util-linux (it has flock)',
    );
  }
  if (taken.status === 1) {
    closeSync(fd);
    return { heldBy: Number(readFileSync(path, 'utf8').trim()) || 0 };
  }
  ftruncateSync(fd);
  writeSync(fd, `${process.pid}\n`, 0);
  return { fd, release: () => closeSync(fd) };
}
