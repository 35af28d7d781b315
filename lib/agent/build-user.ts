import { chownSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { UserError } from '../errors.js';

export interface BuildUser {
  uid: number;
  gid: number;
}

/** The unprivileged user job code runs as in the agent pods (agents.buildUid); it has no home, files or groups of its own. */
export const BUILD_UID = 10001;

/**
 * With agents.buildUid, a root agent builds as that user: job code can then read neither the
 * agent's memory, nor /proc/<agent>/environ, nor its secrets. Without it, as the agent's user.
 */
export function buildUser(uid: number | undefined): BuildUser | undefined {
  if (uid === undefined) return undefined;
  if (process.getuid?.() !== 0) {
    throw new UserError(`agents.buildUid ${uid}: only an agent running as root can run builds as another user`, {
      hint: 'run the agent as root, or leave agents.buildUid unset to build as yourself',
    });
  }
  return { uid, gid: uid };
}

/**
 * A folder the build user owns: made if missing; one that is a symlink, or owned by anybody
 * else (a working copy of an earlier version, built as root), is made afresh.
 */
export function buildDir(dir: string, user: BuildUser | undefined): string {
  mkdirSync(dir, { recursive: true });
  if (!user) return dir;
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink() || stat.uid !== user.uid) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  chownSync(dir, user.uid, user.gid);
  return dir;
}
