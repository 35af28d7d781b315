import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';

const MAX_TARGET_DIRS = 64;
const LOCK_REFRESH_MS = 30_000;
const LOCK_STALE_MS = 5 * 60_000;

export function defaultCacheRoot(env: NodeJS.ProcessEnv): string {
  return env.RAIBID_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'raibid');
}

/** One folder per repository: readable name, hash for uniqueness. */
export function repoCacheDir(root: string, repo: string): string {
  const name = repo.replace(/\.git$/, '').split(/[/:]/).filter(Boolean).slice(-2).join('-').replace(/[^\w.-]/g, '_');
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
  index: number;
  /** Whether it had been built in before: a warm cache. */
  warm: boolean;
  release(): void;
}

function isStale(lock: string): boolean {
  try {
    const [host, pid] = readFileSync(join(lock, 'owner'), 'utf8').split(' ');
    if (host === hostname()) {
      try {
        process.kill(Number(pid), 0);
      } catch {
        return true;
      }
    }
  } catch {
    // an owner file not yet written: judge by age alone
  }
  try {
    return Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS;
  } catch {
    return true;
  }
}

/**
 * Leases a build slot of this repo's cache: a working copy and a target dir. Cargo locks its
 * build directory, so two agents sharing one would queue for minutes; each concurrent build
 * gets a slot of its own. The working copy stays too, at the same path, so files a commit did
 * not change keep their mtimes and cargo's fingerprints hold: the next build of the repo in
 * this slot compiles only what changed. The lease is an atomic mkdir, kept fresh while held,
 * so a crashed agent's lease expires (agents in other pods share the cache).
 */
export function leaseBuildSlot(repoDir: string): BuildSlot {
  mkdirSync(repoDir, { recursive: true });
  for (let i = 0; i < MAX_TARGET_DIRS; i++) {
    const lock = join(repoDir, `target-${i}.lock`);
    try {
      mkdirSync(lock);
    } catch {
      if (!isStale(lock)) continue;
      rmSync(lock, { recursive: true, force: true });
      try {
        mkdirSync(lock);
      } catch {
        continue;
      }
    }
    writeFileSync(join(lock, 'owner'), `${hostname()} ${process.pid}`);
    const targetDir = join(repoDir, `target-${i}`);
    let warm = false;
    try {
      warm = statSync(targetDir).isDirectory();
    } catch {
      mkdirSync(targetDir, { recursive: true });
    }
    const refresh = setInterval(() => {
      const now = new Date();
      try {
        utimesSync(lock, now, now);
      } catch {
        // released meanwhile
      }
    }, LOCK_REFRESH_MS);
    refresh.unref();
    return {
      targetDir,
      workDir: join(repoDir, `work-${i}`),
      cargoHome: join(repoDir, 'cargo-home'),
      index: i,
      warm,
      release: () => {
        clearInterval(refresh);
        rmSync(lock, { recursive: true, force: true });
      },
    };
  }
  throw new Error(`all ${MAX_TARGET_DIRS} build directories of ${repoDir} are in use`);
}
