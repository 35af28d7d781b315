import { GitHubApiError, type GitHubClient } from '../github/client.js';
import { type GitHubRepoJson, type OwnerRule, type Rules, type Selected, type SourceRepo, fromGitHub, selectRepos } from './select.js';

export interface SourceListing {
  selected: Selected[];
  /** What could not be read from GitHub (a missing repo or owner), each as one line. */
  problems: string[];
}

async function ownerRepos(github: GitHubClient, rule: OwnerRule, login: string | undefined): Promise<SourceRepo[]> {
  const repos: GitHubRepoJson[] =
    rule.kind === 'org'
      ? await github.list('GET /orgs/{org}/repos', { org: rule.name, type: 'all' })
      : login?.toLowerCase() === rule.name.toLowerCase()
        ? await github.list('GET /user/repos', { affiliation: 'owner', visibility: 'all' })
        : await github.list('GET /users/{username}/repos', { username: rule.name, type: 'owner' });
  return repos.map(fromGitHub);
}

/** Asked for by an old name, GitHub answers with the renamed repository (Octokit follows the 301): whether `answered` is that. */
export const isRenamed = (answered: { full_name: string }, owner: string, name: string) =>
  answered.full_name.toLowerCase() !== `${owner}/${name}`.toLowerCase();

async function singleRepo(github: GitHubClient, owner: string, name: string): Promise<SourceRepo> {
  const { data } = await github.get('GET /repos/{owner}/{repo}', { owner, repo: name });
  if (isRenamed(data, owner, name)) throw new GitHubApiError(301, `renamed on GitHub to ${data.full_name}: update the config`);
  return fromGitHub(data);
}

/** Reads what the rules select from GitHub: each owner's list (paged, conditional) and each single repo. */
export async function listSources(github: GitHubClient, rules: Rules, token: string | undefined): Promise<SourceListing> {
  const problems: string[] = [];
  const missing = (what: string) => (error: unknown) => {
    if (error instanceof GitHubApiError && (error.status === 404 || error.status === 301)) {
      problems.push(`${what}: ${error.status === 404 ? 'not found on GitHub (or not visible to the token)' : error.message}`);
      return undefined;
    }
    throw error;
  };
  const needsLogin = token !== undefined && rules.owners.some((r) => r.kind === 'user');
  const login = needsLogin ? (await github.get('GET /user')).data.login : undefined;
  const singles = await Promise.all(rules.repos.map((r) => singleRepo(github, r.owner, r.name).catch(missing(`${r.owner}/${r.name}`))));
  const owned = await Promise.all(
    rules.owners.map(async (rule) => ({ rule, repos: (await ownerRepos(github, rule, login).catch(missing(`${rule.kind} ${rule.name}`))) ?? [] })),
  );
  return {
    selected: selectRepos(
      rules,
      singles.filter((s): s is SourceRepo => s !== undefined),
      owned,
    ),
    problems,
  };
}
