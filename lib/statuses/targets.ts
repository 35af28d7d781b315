import { GiteaApiError } from '../gitea/client.js';
import { type GiteaAccess, setCommitStatus } from '../gitea/commit-status.js';
import { GitHubApiError, type GitHubClient } from '../github/client.js';
import type { Job } from '../queue/job.js';
import { GITHUB_TARGET, STATUS_TARGET } from '../queue/names.js';
import type { CommitStatus } from './describe.js';

/** Where a job's commit status goes: which repository there, and how it is set. */
export interface StatusSink {
  name: 'gitea' | 'github';
  repoOf(job: Job): string | undefined;
  post(repo: string, sha: string, status: CommitStatus, targetUrl: string | undefined): Promise<void>;
  /** A refusal that another try would not change (a 4xx other than a rate limit). */
  isPermanent(error: unknown): boolean;
}

const refusedForGood = (status: number) => status >= 400 && status < 500 && status !== 429;

export function giteaSink(gitea: GiteaAccess, context: string): StatusSink {
  return {
    name: 'gitea',
    repoOf: (job) => job.meta[STATUS_TARGET],
    post: (repo, sha, status, targetUrl) => setCommitStatus(gitea, { repo, sha }, status.state, status.description, targetUrl, context),
    isPermanent: (error) => error instanceof GiteaApiError && refusedForGood(error.status),
  };
}

export function githubSink(github: GitHubClient, context: string): StatusSink {
  return {
    name: 'github',
    repoOf: (job) => job.meta[GITHUB_TARGET],
    async post(repo, sha, status, targetUrl) {
      const [owner = '', name = ''] = repo.split('/');
      await github.write('POST /repos/{owner}/{repo}/statuses/{sha}', {
        owner,
        repo: name,
        sha,
        state: status.state,
        description: status.description,
        context,
        ...(targetUrl ? { target_url: targetUrl } : {}),
      });
    },
    isPermanent: (error) => error instanceof GitHubApiError && refusedForGood(error.status),
  };
}
