import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `~/x` as the shell would read it; other paths as they are. */
export function expandHome(path: string): string {
  return path.replace(/^~(?=\/|$)/, homedir());
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
