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
  const [owner, name] = target.repo.split('/');
  const url = `${gitea.url.replace(/\/+$/, '')}/api/v1/repos/${encodeURIComponent(owner ?? '')}/${encodeURIComponent(name ?? '')}/statuses/${encodeURIComponent(target.sha)}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `token ${gitea.token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ state, context: STATUS_CONTEXT, description: description.slice(0, 255), target_url: targetUrl ?? '' }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`Gitea answered ${response.status} for the commit status of ${target.repo}@${target.sha.slice(0, 12)}`);
}
