import { GiteaClient } from './client.js';

export type CommitState = 'pending' | 'success' | 'failure' | 'error';

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
): Promise<void> {
  const [owner = '', name = ''] = target.repo.split('/');
  const path = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/statuses/${encodeURIComponent(target.sha)}`;
  await new GiteaClient(gitea.url, { token: gitea.token }).request('POST', path, { state, context: STATUS_CONTEXT, description: description.slice(0, 255), target_url: targetUrl ?? '' });
}
