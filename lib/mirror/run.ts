import { join } from 'node:path';
import { defaultCacheRoot } from '../agent/cache.js';
import type { LoadedConfig } from '../config.js';
import { UserError, failure } from '../errors.js';
import { GiteaClient } from '../gitea/client.js';
import { GitHubClient } from '../github/client.js';
import { EtagCache } from '../github/etag-cache.js';
import { tryLock } from '../lock.js';
import { giteaUrl } from '../platform/charts.js';
import { type MirrorAction, planMirrors } from './plan.js';
import { type MirrorSummary, readGitea, reconcile } from './reconcile.js';
import { type Selected, compileRules } from './select.js';
import { listSources } from './sources.js';

export interface MirrorRun {
  selected: Selected[];
  actions: MirrorAction[];
  problems: string[];
  github: GitHubClient;
}

export function githubClient(loaded: LoadedConfig, env: NodeJS.ProcessEnv): GitHubClient {
  return new GitHubClient(loaded.config.github.apiUrl, loaded.secrets.githubToken, new EtagCache(join(defaultCacheRoot(env), 'github-etags.json')));
}

export function giteaClient(loaded: LoadedConfig): GiteaClient {
  const url = giteaUrl(loaded.config);
  if (!url) throw new UserError('no Gitea URL: set gitea.url', { hint: 'gitea.url: http://gitea.spark-1.local' });
  if (!loaded.secrets.giteaToken) {
    throw new UserError('GITEA_TOKEN is not set', { hint: "bootstrap keeps one: kubectl -n raibid get secret raibid-gitea-token -o jsonpath='{.data.token}' | base64 -d" });
  }
  return new GiteaClient(url, { token: loaded.secrets.giteaToken });
}

/** What GitHub selects and what Gitea should do about it; nothing changed yet. */
export async function planRun(loaded: LoadedConfig, env: NodeJS.ProcessEnv, gitea: GiteaClient | undefined): Promise<MirrorRun> {
  const rules = compileRules(loaded.config.mirror);
  if (rules.repos.length === 0 && rules.owners.length === 0) {
    throw new UserError('nothing to mirror: mirror.repos, mirror.orgs and mirror.users are empty', { hint: 'e.g. mirror: { orgs: [{ name: my-org }] }' });
  }
  const github = githubClient(loaded, env);
  const { selected, problems } = await listSources(github, rules, loaded.secrets.githubToken);
  const state = gitea ? await readGitea(gitea, selected.map((s) => s.org)) : { orgs: new Set<string>(), repos: [] };
  github.saveCache();
  return { selected, actions: gitea ? planMirrors(selected, state, loaded.config.mirror.intervalMinutes) : [], problems, github };
}

/** `mirror sync`: one run at a time (a lock), the plan carried out, the ETag cache saved. */
export async function syncMirrors(loaded: LoadedConfig, env: NodeJS.ProcessEnv, options: { prune: boolean }): Promise<MirrorSummary & { github: GitHubClient['stats'] }> {
  const gitea = giteaClient(loaded);
  const lock = tryLock(join(defaultCacheRoot(env), 'mirror-sync.lock'));
  if ('heldBy' in lock) throw failure(`another mirror sync is running (pid ${lock.heldBy}); this one stops`, 'runs that overlap are skipped: a cron schedule every 15 minutes or more is plenty');
  try {
    const run = await planRun(loaded, env, gitea);
    const summary = await reconcile(run.actions, { gitea, github: run.github, config: loaded.config, githubToken: loaded.secrets.githubToken, prune: options.prune });
    run.github.saveCache();
    summary.notes.unshift(...run.problems);
    summary.failed += run.problems.length;
    return { ...summary, github: run.github.stats };
  } finally {
    lock.release();
  }
}
