import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCacheRoot } from '../agent/cache.js';
import type { LoadedConfig } from '../config.js';
import { UserError, failure } from '../errors.js';
import { GiteaClient } from '../gitea/client.js';
import { GitHubClient } from '../github/client.js';
import { EtagCache } from '../github/etag-cache.js';
import { tryLock } from '../lock.js';
import { ownedDir } from '../paths.js';
import { requiredGiteaUrl } from '../platform/charts.js';
import { type Progress, type Step, runSteps } from '../steps.js';
import { staleMirrors } from './heads.js';
import { type MirrorAction, planMirrors } from './plan.js';
import { type MirrorSummary, readGitea, reconcile } from './reconcile.js';
import { type Selected, compileRules } from './select.js';
import { listSources } from './sources.js';
import { isFresh, readState, stateAfter, stateAsGitea, writeState } from './state.js';

export interface MirrorRun {
  selected: Selected[];
  actions: MirrorAction[];
  problems: string[];
  github: GitHubClient;
  /** Whether Gitea was read in full (else the state of the last clean run stood in for it). */
  fullCheck: boolean;
}

const statePath = (env: NodeJS.ProcessEnv) => join(mirrorCache(env), 'mirror-state.json');
const mirrorCache = (env: NodeJS.ProcessEnv) => ownedDir(defaultCacheRoot(env), 'the mirror state (RAIBID_CACHE_DIR)');

export function githubClient(loaded: LoadedConfig, env: NodeJS.ProcessEnv): GitHubClient {
  return new GitHubClient(loaded.config.github.apiUrl, loaded.secrets.githubToken, new EtagCache(join(mirrorCache(env), 'github-etags.json')));
}

export function giteaClient(loaded: LoadedConfig): GiteaClient {
  const url = requiredGiteaUrl(loaded.config);
  if (!loaded.secrets.giteaToken) {
    throw new UserError('GITEA_TOKEN is not set', {
      hint: "bootstrap keeps one: kubectl -n raibid get secret raibid-gitea-token -o jsonpath='{.data.token}' | base64 -d",
    });
  }
  return new GiteaClient(url, { token: loaded.secrets.giteaToken });
}

/** What GitHub selects and what Gitea should do about it; nothing changed yet. */
export async function planRun(loaded: LoadedConfig, env: NodeJS.ProcessEnv, gitea: GiteaClient | undefined, full = false): Promise<MirrorRun> {
  const rules = compileRules(loaded.config.mirror);
  if (rules.repos.length === 0 && rules.owners.length === 0) {
    throw new UserError('nothing to mirror: mirror.repos, mirror.orgs and mirror.users are empty', { hint: 'e.g. mirror: { orgs: [{ name: my-org }] }' });
  }
  const github = githubClient(loaded, env);
  const { selected, problems } = await listSources(github, rules, loaded.secrets.githubToken);
  const interval = loaded.config.mirror.intervalMinutes;
  const remembered = readState(statePath(env));
  const fullCheck = full || !isFresh(remembered, interval);
  const orgs = selected.map((s) => s.org);
  const state = !gitea ? { orgs: new Set<string>(), repos: [] } : fullCheck ? await readGitea(gitea, orgs) : stateAsGitea(remembered!, orgs);
  const stale = gitea && fullCheck ? await staleMirrors(selected, state.repos, github, gitea, loaded.config.mirror.concurrency) : undefined;
  github.saveCache();
  return { selected, actions: gitea ? planMirrors(selected, state, interval, stale) : [], problems, github, fullCheck };
}

export const counted = (s: Pick<MirrorSummary, 'created' | 'synced' | 'unchanged' | 'failed'>) =>
  `created ${s.created}, synced ${s.synced}, unchanged ${s.unchanged}, failed ${s.failed}`;

/** What sync's two steps share: the plan the first makes, the summary of the second carrying it out. */
interface SyncContext {
  loaded: LoadedConfig;
  env: NodeJS.ProcessEnv;
  gitea: GiteaClient;
  options: { prune: boolean; full?: boolean };
  run?: MirrorRun;
  summary?: MirrorSummary;
}

const SYNC_STEPS: Step<SyncContext>[] = [
  {
    title: 'Select on GitHub, compare with Gitea',
    run: async (context) => {
      const run = (context.run = await planRun(context.loaded, context.env, context.gitea, context.options.full));
      return `${run.selected.length} repositories selected (Gitea ${run.fullCheck ? 'read in full' : 'as the last run left it'})`;
    },
  },
  {
    title: 'Mirror into Gitea',
    run: async (context) => {
      const { loaded, gitea, run } = context;
      context.summary = await reconcile(run!.actions, {
        gitea,
        github: run!.github,
        config: loaded.config,
        githubToken: loaded.secrets.githubToken,
        prune: context.options.prune,
      });
      return `Mirrors: ${counted(context.summary)}`;
    },
  },
];

/** `mirror sync`: one run at a time (a lock), its steps a listr2 list, the plan carried out, the ETag cache saved. */
export async function syncMirrors(
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv,
  options: { prune: boolean; full?: boolean; progress?: Progress },
): Promise<MirrorSummary & { github: GitHubClient['stats']; fullCheck: boolean }> {
  const gitea = giteaClient(loaded);
  const lock = tryLock(join(mirrorCache(env), 'mirror-sync.lock'));
  if ('heldBy' in lock)
    throw failure(
      `another mirror sync is running (pid ${lock.heldBy}); this one stops`,
      'runs that overlap are skipped: a cron schedule every 15 minutes or more is plenty',
    );
  try {
    const startedAt = Date.now();
    const context: SyncContext = { loaded, env, gitea, options };
    await runSteps(SYNC_STEPS, context, { progress: options.progress ?? 'none' });
    const { run, summary } = context;
    if (!run || !summary) throw new Error('mirror sync: a step did not run');
    run.github.saveCache();
    summary.notes.unshift(...run.problems);
    summary.failed += run.problems.length;
    // only a clean run may stand in for Gitea next time; after a failure the next run reads it in full
    const previous = readState(statePath(env));
    if (summary.failed === 0)
      writeState(statePath(env), stateAfter(run.selected, summary.kept, loaded.config.mirror.intervalMinutes, run.fullCheck ? startedAt : previous!.checkedAt));
    else rmSync(statePath(env), { force: true });
    return { ...summary, github: run.github.stats, fullCheck: run.fullCheck };
  } finally {
    lock.release();
  }
}
