import type { CommitState } from '../statuses/describe.js';
import { GiteaClient } from './client.js';

export interface GiteaAccess {
  url: string;
  token: string;
}

export interface StatusTarget {
  /** owner/name on Gitea. */
  repo: string;
  sha: string;
}

export const STATUS_CONTEXT = 'raibid/ci';

/** Sets the commit status Gitea shows beside a commit and a pull request. */
export async function setCommitStatus(
  gitea: GiteaAccess,
  target: StatusTarget,
  state: CommitState,
  description: string,
  targetUrl?: string,
  context = STATUS_CONTEXT,
): Promise<void> {
  const [owner = '', name = ''] = target.repo.split('/');
  await new GiteaClient(gitea.url, { token: gitea.token }).call('POST /repos/{owner}/{repo}/statuses/{sha}', {
    params: { owner, repo: name, sha: target.sha },
    body: { state, context, description: description.slice(0, 255), target_url: targetUrl ?? '' },
  });
}
