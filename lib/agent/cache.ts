import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { tryLock } from '../lock.js';
import { type BuildUser, buildDir } from './build-user.js';

const MAX_TARGET_DIRS = 64;

export function defaultCacheRoot(env: NodeJS.ProcessEnv): string {
  return env.RAIBID_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'raibid');
}

/** One folder per repository: readable name, hash for uniqueness. */
export function repoCacheDir(root: string, repo: string): string {
  const name = repo
    .replace(/\.git$/, '')
    .split(/[/:]/)
    .filter(Boolean)
    .slice(-2)
    .join('-')
    .replace(/[^\w.-]/g, '_');
  const hash = createHash('sha256').update(repo).digest('hex').slice(0, 10);
  return join(root, 'repos', `${name}-${hash}`);
}

export interface BuildSlot {
  /** CARGO_TARGET_DIR for this build. */
  targetDir: string;
  /** The working copy, reset to the job's commit for each build. */
  workDir: string;
  /** CARGO_HOME, shared by the repo's slots: cargo locks its package cache only briefly. */
  cargoHome: string;
  /** HOME for the build. */
  homeDir: string;
  index: number;
  /** Whether it had been built in before: a warm cache. */
  warm: boolean;
  /** The lease's open file, for the build's processes to hold as well. */
  lockFd: number;
  release(): void;
}

/**
 * Leases a build slot of this repo's cache: a working copy and a target dir. Cargo locks its
 * build directory, so two agents sharing one would queue for minutes; each concurrent build
 * gets a slot of its own. The working copy stays too, at the same path, so files a commit did
 * not change keep their mtimes and cargo's fingerprints hold: the next build of the repo in
 * this slot compiles only what changed. The lease is a lock the kernel holds (lib/lock.ts),
 * across the agents of every pod on the node; the build's processes are handed it too, so a
 * slot whose agent died is not reused while anything it started still runs.
 */
export function leaseBuildSlot(repoDir: string, user?: BuildUser): BuildSlot {
  mkdirSync(repoDir, { recursive: true });
  for (let i = 0; i < MAX_TARGET_DIRS; i++) {
    const lock = tryLock(join(repoDir, `slot-${i}.lock`));
    if ('heldBy' in lock) continue;
    const targetDir = join(repoDir, `target-${i}`);
    const [workDir, cargoHome, homeDir] = [join(repoDir, `work-${i}`), join(repoDir, 'cargo-home'), join(repoDir, `home-${i}`)];
    const warm = existsSync(targetDir);
    for (const dir of [targetDir, workDir, cargoHome, homeDir]) buildDir(dir, user);
    // a target dir made afresh for the build user is empty: cold
    return { targetDir, workDir, cargoHome, homeDir, index: i, warm: warm && readdirSync(targetDir).length > 0, lockFd: lock.fd, release: lock.release };
  }
  throw new Error(`all ${MAX_TARGET_DIRS} build directories of ${repoDir} are in use`);
}
