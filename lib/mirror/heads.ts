import type { GiteaClient } from '../gitea/client.js';
import { GitHubApiError, type GitHubClient } from '../github/client.js';
import { mapLimited } from '../limit.js';
import { type GiteaRepo, mirrorKey } from './plan.js';
import type { Selected } from './select.js';

async function githubHead(github: GitHubClient, item: Selected): Promise<string | undefined> {
  const { owner, name, defaultBranch } = item.source;
  try {
    return (await github.get('GET /repos/{owner}/{repo}/branches/{branch}', { owner, repo: name, branch: defaultBranch })).data.commit.sha;
  } catch (error) {
    // no such branch, or an empty repository
    if (error instanceof GitHubApiError && (error.status === 404 || error.status === 409)) return undefined;
    throw error;
  }
}

async function giteaHead(gitea: GiteaClient, item: Selected): Promise<string | undefined> {
  const answer = await gitea.call('GET /repos/{owner}/{repo}/branches/{branch}', {
    params: { owner: item.org, repo: item.source.name, branch: item.source.defaultBranch },
    accept: [404],
  });
  return answer.status === 404 ? undefined : answer.body.commit?.id;
}

/**
 * The mirrors whose default branch is not at GitHub's head. Gitea advances mirror_updated even
 * when a sync fails, and its clock need not agree with GitHub's, so `pushed_at` alone can call a
 * mirror fresh that is not. Read when Gitea is read in full; a GitHub 304 costs no rate limit.
 */
export async function staleMirrors(
  selected: Selected[],
  repos: GiteaRepo[],
  github: GitHubClient,
  gitea: GiteaClient,
  concurrency: number,
): Promise<Set<string>> {
  const mirrors = new Set(repos.filter((r) => r.mirror && !r.archived).map((r) => mirrorKey(r.owner, r.name)));
  const candidates = selected.filter((s) => s.source.defaultBranch !== '' && mirrors.has(mirrorKey(s.org, s.source.name)));
  const stale = new Set<string>();
  await mapLimited(candidates, concurrency, async (item) => {
    const [theirs, ours] = await Promise.all([githubHead(github, item), giteaHead(gitea, item)]);
    if (theirs !== ours) stale.add(mirrorKey(item.org, item.source.name));
  });
  return stale;
}
