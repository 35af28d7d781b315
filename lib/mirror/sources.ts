import { GitHubApiError, type GitHubClient } from '../github/client.js';
import { type GitHubRepoJson, type OwnerRule, type Rules, type Selected, type SourceRepo, fromGitHub, selectRepos } from './select.js';

export interface SourceListing {
  selected: Selected[];
  /** What could not be read from GitHub (a missing repo or owner), each as one line. */
  problems: string[];
}

async function ownerRepos(github: GitHubClient, rule: OwnerRule, login: string | undefined): Promise<SourceRepo[]> {
  const path =
    rule.kind === 'org'
      ? `/orgs/${encodeURIComponent(rule.name)}/repos?type=all`
      : login?.toLowerCase() === rule.name.toLowerCase()
        ? '/user/repos?affiliation=owner&visibility=all'
        : `/users/${encodeURIComponent(rule.name)}/repos?type=owner`;
  return (await github.list<GitHubRepoJson>(path)).map(fromGitHub);
}

/** Reads what the rules select from GitHub: each owner's list (paged, conditional) and each single repo. */
export async function listSources(github: GitHubClient, rules: Rules, token: string | undefined): Promise<SourceListing> {
  const problems: string[] = [];
  const missing = (what: string) => (error: unknown) => {
    if (error instanceof GitHubApiError && (error.status === 404 || error.status === 301)) {
      problems.push(`${what}: ${error.status === 404 ? 'not found on GitHub (or not visible to the token)' : 'renamed on GitHub: update the config'}`);
      return undefined;
    }
    throw error;
  };
  const needsLogin = token !== undefined && rules.owners.some((r) => r.kind === 'user');
  const login = needsLogin ? (await github.get<{ login: string }>('/user')).body.login : undefined;
  const singles = await Promise.all(
    rules.repos.map((r) => github.get<GitHubRepoJson>(`/repos/${r.owner}/${r.name}`).then((x) => fromGitHub(x.body), missing(`${r.owner}/${r.name}`))),
  );
  const owned = await Promise.all(
    rules.owners.map(async (rule) => ({ rule, repos: (await ownerRepos(github, rule, login).catch(missing(`${rule.kind} ${rule.name}`))) ?? [] })),
  );
  return { selected: selectRepos(rules, singles.filter((s): s is SourceRepo => s !== undefined), owned), problems };
}
