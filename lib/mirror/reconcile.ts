import type { Config } from '../config.js';
import type { MigrateRepoOptions } from 'gitea-js';
import { GiteaApiError, type GiteaClient, isTimeout } from '../gitea/client.js';
import { GitHubApiError, type GitHubClient } from '../github/client.js';
import { mapLimited } from '../limit.js';
import { type GiteaRepo, type MirrorAction, goDuration } from './plan.js';
import type { Selected } from './select.js';
import { isRenamed } from './sources.js';

export interface MirrorSummary {
  created: number;
  synced: number;
  unchanged: number;
  failed: number;
  /** Lines worth a person's attention: failures, gone or renamed sources, what was done about them. */
  notes: string[];
  /** Mirrors nothing selects that were left in place (reported again next time). */
  kept: GiteaRepo[];
  /** The mirrors created or synced, as org/name in Gitea: what may have new commits to build. */
  changed: string[];
}

export const FROZEN_DESCRIPTION = 'Deleted on GitHub: this mirror is no longer synced (raibid-task, mirror.whenDeleted: archive).';

/** What Gitea has in the orgs the mirrors go to (a missing org is simply absent). */
export async function readGitea(gitea: GiteaClient, orgs: string[]): Promise<{ orgs: Set<string>; repos: GiteaRepo[] }> {
  const found = new Set<string>();
  const repos: GiteaRepo[] = [];
  for (const org of [...new Set(orgs)]) {
    const answer = await gitea.list('GET /orgs/{org}/repos', { params: { org }, accept: [404] });
    if (answer.status === 404) continue;
    found.add(org.toLowerCase());
    for (const r of answer.items) {
      const interval = r.mirror_interval ?? '';
      repos.push({
        owner: r.owner?.login ?? org,
        name: r.name ?? '',
        mirror: r.mirror ?? false,
        mirrorInterval: interval,
        mirrorUpdated: r.mirror_updated ?? '',
        originalUrl: r.original_url ?? '',
        // a mirror cannot be archived in Gitea: one frozen (interval 0) counts as archived here
        archived: (r.archived ?? false) || (r.mirror === true && /^0s?$/.test(interval)),
      });
    }
  }
  return { orgs: found, repos };
}

export interface ReconcileContext {
  gitea: GiteaClient;
  github: GitHubClient;
  config: Config;
  githubToken: string | undefined;
  prune: boolean;
}

const mirrorOf = (item: Selected) => ({ owner: item.org, repo: item.source.name });

function migrateBody(item: Selected, ctx: ReconcileContext): MigrateRepoOptions {
  const { mirror } = ctx.config;
  // credentials travel in the auth fields, never in the clone URL (Gitea would keep and show it)
  const auth = item.source.private && ctx.githubToken ? { auth_username: 'x-access-token', auth_password: ctx.githubToken } : {};
  return {
    clone_addr: item.source.cloneUrl,
    repo_owner: item.org,
    repo_name: item.source.name,
    mirror: true,
    mirror_interval: goDuration(mirror.intervalMinutes),
    private: item.source.private,
    wiki: mirror.wiki,
    lfs: mirror.lfs,
    service: 'git',
    description: `Mirror of ${item.source.owner}/${item.source.name}`,
    ...auth,
  };
}

/** A mirror nothing selects any more: gone from GitHub, renamed, or just left out of the config. */
async function handleOrphan(mirror: GiteaRepo, ctx: ReconcileContext): Promise<{ note: string; kept?: GiteaRepo; renamedTo?: string }> {
  const name = `${mirror.owner}/${mirror.name}`;
  const source = mirror.originalUrl.match(/([^/:]+)\/([^/]+?)(?:\.git)?\/?$/);
  let fate: 'deleted' | 'renamed' | 'unselected' = 'unselected';
  let newName: string | undefined;
  if (source) {
    const [, owner = '', repo = ''] = source;
    try {
      const { data } = await ctx.github.get('GET /repos/{owner}/{repo}', { owner, repo });
      if (isRenamed(data, owner, repo)) [fate, newName] = ['renamed', data.name];
    } catch (error) {
      if (!(error instanceof GitHubApiError && error.status === 404)) throw error;
      fate = 'deleted';
    }
  }
  if (ctx.prune) {
    await ctx.gitea.call('DELETE /repos/{owner}/{repo}', { params: { owner: mirror.owner, repo: mirror.name } });
    return { note: `${name}: ${fate === 'unselected' ? 'no longer selected' : `${fate} on GitHub`}; mirror deleted (--prune)` };
  }
  if (fate === 'deleted' && ctx.config.mirror.whenDeleted === 'archive' && !mirror.archived) {
    // Gitea refuses to archive a mirror (422); an interval of 0 stops its syncs for good
    await ctx.gitea.call('PATCH /repos/{owner}/{repo}', {
      params: { owner: mirror.owner, repo: mirror.name },
      body: { mirror_interval: '0s', description: FROZEN_DESCRIPTION },
    });
    return { note: `${name}: deleted on GitHub; mirror frozen (no longer synced)`, kept: { ...mirror, mirrorInterval: '0s', archived: true } };
  }
  if (fate === 'renamed' && ctx.config.mirror.whenRenamed === 'rename') {
    await ctx.gitea.call('PATCH /repos/{owner}/{repo}', { params: { owner: mirror.owner, repo: mirror.name }, body: { name: newName } });
    return { note: `${name}: renamed on GitHub to ${newName}; mirror renamed`, renamedTo: `${mirror.owner}/${newName}`.toLowerCase() };
  }
  const advice =
    fate === 'unselected'
      ? 'no longer selected by the config'
      : fate === 'renamed'
        ? `renamed on GitHub to ${newName}`
        : `deleted on GitHub${mirror.archived ? ' (mirror frozen)' : ''}`;
  return { note: `${name}: ${advice}; kept (--prune deletes it)`, kept: mirror };
}

/** Carries out the plan against Gitea, a few at a time; each failure is counted and named, the rest go on. */
export async function reconcile(actions: MirrorAction[], ctx: ReconcileContext): Promise<MirrorSummary> {
  const summary: MirrorSummary = { created: 0, synced: 0, unchanged: 0, failed: 0, notes: [], kept: [], changed: [] };
  const fail = (what: string, error: unknown) => {
    summary.failed += 1;
    summary.notes.push(`${what}: failed: ${error instanceof GiteaApiError || error instanceof GitHubApiError ? error.message : (error as Error).message}`);
  };
  for (const action of actions.filter((a) => a.kind === 'create-org')) {
    await ctx.gitea.call('POST /orgs', { body: { username: action.org, visibility: 'private' } }).catch((error) => fail(`org ${action.org}`, error));
  }
  // orphans first: a mirror renamed after its source is then the one the new name selects
  const renamed = new Set<string>();
  const orphans = actions.filter((a): a is Extract<MirrorAction, { kind: 'orphan' }> => a.kind === 'orphan');
  await mapLimited(orphans, ctx.config.mirror.concurrency, async ({ mirror }) => {
    try {
      const { note, kept, renamedTo } = await handleOrphan(mirror, ctx);
      summary.notes.push(note);
      if (kept) summary.kept.push(kept);
      if (renamedTo) renamed.add(renamedTo);
    } catch (error) {
      fail(`${mirror.owner}/${mirror.name}`, error);
    }
  });
  /**
   * Gitea clones before it answers a migrate; a large repository can outlast any timeout, and the
   * repository exists from the start, so a timeout is a migration in progress and a 409 one
   * already made or under way: never a second migrate, never a failure.
   */
  const migrate = async (item: Selected, target: string) => {
    const timeoutMs = ctx.config.mirror.migrateTimeoutSeconds * 1000;
    try {
      const answer = await ctx.gitea.call('POST /repos/migrate', { body: migrateBody(item, ctx), accept: [409], timeoutMs });
      if (answer.status === 409) {
        summary.unchanged += 1;
        summary.notes.push(`${target}: already in Gitea (a migration made or still under way); left alone`);
        return;
      }
    } catch (error) {
      if (!isTimeout(error)) throw error;
      summary.notes.push(`${target}: Gitea still migrating after ${ctx.config.mirror.migrateTimeoutSeconds} s (a large repository); the next run finds it`);
    }
    summary.created += 1;
    summary.changed.push(target);
  };
  await mapLimited(actions, ctx.config.mirror.concurrency, async (action) => {
    const target = 'item' in action ? `${action.item.org}/${action.item.source.name}` : '';
    try {
      switch (action.kind) {
        case 'create':
          if (renamed.has(target.toLowerCase())) {
            await ctx.gitea.call('POST /repos/{owner}/{repo}/mirror-sync', { params: mirrorOf(action.item) });
            summary.synced += 1;
            summary.changed.push(target);
            return;
          }
          await migrate(action.item, target);
          return;
        case 'update':
          if (action.interval)
            await ctx.gitea.call('PATCH /repos/{owner}/{repo}', { params: mirrorOf(action.item), body: { mirror_interval: action.interval } });
          if (action.sync) {
            const sync = await ctx.gitea.call('POST /repos/{owner}/{repo}/mirror-sync', { params: mirrorOf(action.item), accept: [404] });
            // the mirror was removed in Gitea since the last run: made again
            if (sync.status === 404) {
              await migrate(action.item, target);
              return;
            }
            summary.synced += 1;
            summary.changed.push(target);
          } else summary.unchanged += 1;
          if (action.interval) summary.notes.push(`${target}: interval set to ${action.interval}`);
          return;
        case 'unchanged':
          summary.unchanged += 1;
          return;
        case 'conflict':
          summary.failed += 1;
          summary.notes.push(`${target}: failed: ${action.reason}`);
          return;
        case 'orphan':
        case 'create-org':
          return;
      }
    } catch (error) {
      fail(target, error);
    }
  });
  return summary;
}
