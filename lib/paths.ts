import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from './errors.js';

/** `~/x` as the shell would read it; other paths as they are. */
export function expandHome(path: string): string {
  return path.replace(/^~(?=\/|$)/, homedir());
}

/** Where raibid-task keeps what outlives a run on this machine (the local farm's data): $XDG_STATE_HOME/raibid, else ~/.local/state/raibid. */
export function stateDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'raibid');
}

/** The kubeconfig a task uses: its --kubeconfig, else where kubectl looks. */
export function kubeconfigPath(given: string | undefined, env: NodeJS.ProcessEnv): string {
  return given ? expandHome(given) : defaultKubeconfig(env);
}

/** Where kubectl looks: the first $KUBECONFIG entry, else ~/.kube/config. */
export function defaultKubeconfig(env: NodeJS.ProcessEnv): string {
  return env.KUBECONFIG?.split(':').find(Boolean) ?? join(homedir(), '.kube', 'config');
}

/**
 * Writes `path` whole, or not at all: into a temp file of a random name created exclusively
 * (never through a symlink or a file planted at a name one could guess), mode 0600, then
 * renamed over it.
 */
export function writeFileAtomic(path: string, data: string): void {
  const temp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  writeFileSync(temp, data, { flag: 'wx', mode: 0o600 });
  renameSync(temp, path);
}

/**
 * A folder raibid-task keeps its cache, state or builds in, made if missing (0711: a build user
 * may pass through to the folders it is given, not list them). One that is a
 * symlink, someone else's, or writable by others is refused: whoever could change it could plant
 * what a run then trusts.
 */
export function ownedDir(dir: string, what: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const stat = lstatSync(dir);
  const hint = `point ${what} at a folder of your own, e.g. ~/.cache/raibid`;
  if (stat.isSymbolicLink()) throw new UserError(`${dir}: is a symlink; not used for ${what}`, { hint });
  const why = untrusted(stat);
  if (why) throw new UserError(`${dir}: ${why.reason}; not used for ${what}`, { hint: why.writable ? `chmod go-w ${dir}, or ${hint}` : hint });
  return dir;
}

/**
 * Why a file or folder is not to be trusted, if it is not: somebody else's, or writable by
 * others (world-writable, or group-writable for a group that is not the user's own: a private
 * group, as umask 002 makes, is fine).
 */
export function untrusted(stat: { uid: number; gid: number; mode: number }): { reason: string; writable: boolean } | undefined {
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return { reason: `belongs to uid ${stat.uid}, not to you (uid ${uid})`, writable: false };
  if ((stat.mode & 0o002) !== 0 || ((stat.mode & 0o020) !== 0 && stat.gid !== process.getgid?.())) {
    return { reason: `others may write to it (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')})`, writable: true };
  }
  return undefined;
}
