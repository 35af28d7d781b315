import type { LoadedConfig } from '../config.js';
import { expandHome, ownedDir } from '../paths.js';
import { giteaUrl } from '../platform/charts.js';
import { defaultCacheRoot } from './cache.js';
import { ciRunner } from './ci-runner.js';
import { commandRunner } from './command-runner.js';
import type { Runner } from './runner.js';

export function cacheRoot(loaded: LoadedConfig, env: NodeJS.ProcessEnv): string {
  const configured = env.RAIBID_CACHE_DIR ?? loaded.config.agents.cacheDir;
  return ownedDir(configured ? expandHome(configured) : defaultCacheRoot(env), 'the build cache (agents.cacheDir, RAIBID_CACHE_DIR)');
}

/** `--exec` or agents.command when given, else the checkout-and-pipeline runner. */
export function runnerFor(loaded: LoadedConfig, env: NodeJS.ProcessEnv, command?: string): Runner {
  const exec = command ?? loaded.config.agents.command;
  if (exec) return commandRunner(exec);
  const gitea = giteaUrl(loaded.config);
  const token = loaded.secrets.giteaReadToken;
  return ciRunner({
    cacheRoot: cacheRoot(loaded, env),
    env,
    buildUid: loaded.config.agents.buildUid,
    gitea: gitea && token ? { url: gitea, token } : undefined,
  });
}
