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
