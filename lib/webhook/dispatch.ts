import type { Config } from '../config.js';
import type { GiteaClient } from '../gitea/client.js';
import { githubRepoOf } from '../github/repo-url.js';
import { type Rules, isSelected, targetOrg } from '../mirror/select.js';
import { CONFIG_REPO } from '../platform/names.js';
import { GITHUB_TARGET, STATUS_TARGET } from '../queue/names.js';
import type { JobQueue } from '../queue/queue.js';
import type { HookAnswer, Push } from './server.js';

export interface DispatchContext {
  config: Config;
  rules: Rules;
  gitea: GiteaClient | undefined;
  queue: JobQueue;
}

const accepted = (body: Record<string, unknown>): HookAnswer => ({ status: 202, body });

/** Deliveries of one push (GitHub's retries, an org and a repo hook) within this long share one mirror-sync. */
const COALESCE_MS = 5000;

/**
 * What a push does. On GitHub: for a mirrored repository, Gitea syncs that mirror at once (a
 * tag or a deleted branch too: the mirror should have it), and nothing is queued yet: Gitea's
 * sync runs later (mirror-sync only queues it), and a job queued now could reach a Gitea without
 * the commit. Gitea's own push webhook, sent once the sync has it, queues the build. On Gitea:
 * queued as it is, unless it deletes a ref or is a tag the tag policy leaves unbuilt.
 */
export function pushHandlers(ctx: DispatchContext) {
  const syncs = new Map<string, Promise<number>>();
  const syncOnce = (org: string, name: string, push: Push): Promise<number> => {
    const key = `${org}/${name} ${push.ref}@${push.sha}`;
    let sync = syncs.get(key);
    if (!sync) {
      sync = ctx.gitea!.call('POST /repos/{owner}/{repo}/mirror-sync', { params: { owner: org, repo: name }, accept: [404] }).then((r) => r.status);
      syncs.set(key, sync);
      const forget = () => setTimeout(() => syncs.delete(key), COALESCE_MS).unref();
      sync.then(forget, () => syncs.delete(key));
    }
    return sync;
  };
  const unbuilt = (push: Push) =>
    push.deleted
      ? `${push.ref} deleted: nothing to build`
      : push.tag && !ctx.config.webhook.tags
        ? `${push.ref}: tags are not built (webhook.tags: true builds them)`
        : undefined;
  return {
    async onGitHubPush(push: Push): Promise<HookAnswer> {
      const [owner = '', name = ''] = push.repo.split('/');
      const source = { owner, name, fork: push.fork, archived: push.archived, private: false, pushedAt: '', cloneUrl: push.cloneUrl, defaultBranch: '' };
      if (!isSelected(ctx.rules, source)) return accepted({ ignored: `${push.repo} is not mirrored here` });
      if (!ctx.gitea) return { status: 503, body: { error: 'GITEA_TOKEN is not set: cannot sync the mirror' } };
      const org = targetOrg(ctx.rules, owner);
      const mirror = `${org}/${name}`;
      if ((await syncOnce(org, name, push)) === 404) return accepted({ ignored: `no mirror ${mirror} yet: the next mirror sync creates it` });
      return accepted({ synced: mirror, build: unbuilt(push) ?? "queued by Gitea's push webhook once the mirror has the commit" });
    },
    async onGiteaPush(push: Push): Promise<HookAnswer> {
      const why = unbuilt(push);
      if (why) return accepted({ ignored: why });
      if (push.repo.toLowerCase() === `${ctx.config.gitea.org}/${CONFIG_REPO}`.toLowerCase())
        return accepted({ ignored: 'the cluster config repo is not built' });
      if (!push.cloneUrl) return { status: 400, body: { error: 'repository.clone_url missing' } };
      // a mirror of a GitHub repository reports its status there too (Gitea's push payload, services/webhook/notifier.go, carries convert.ToRepo's mirror and original_url)
      const github = push.mirrorOf ? githubRepoOf(push.mirrorOf, ctx.config.github.apiUrl) : undefined;
      const meta = { source: 'gitea', [STATUS_TARGET]: push.repo, ...(github ? { [GITHUB_TARGET]: github } : {}) };
      const { id, created } = await ctx.queue.enqueue({ repo: push.cloneUrl, ref: push.ref, sha: push.sha, meta });
      return accepted({ queued: id, created, repo: push.repo });
    },
  };
}
