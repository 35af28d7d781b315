import type { Config } from '../config.js';
import { UserError } from '../errors.js';

/** A GitHub repository as mirroring sees it. */
export interface SourceRepo {
  owner: string;
  name: string;
  private: boolean;
  fork: boolean;
  archived: boolean;
  pushedAt: string;
  cloneUrl: string;
  /** Empty when GitHub did not say (an empty repository). */
  defaultBranch: string;
}

/** What is read of a repository GitHub lists (Octokit's minimal-repository has it all, some of it optional). */
export interface GitHubRepoJson {
  name: string;
  owner: { login: string };
  private: boolean;
  fork: boolean;
  archived?: boolean;
  pushed_at?: string | null;
  clone_url?: string;
  default_branch?: string;
}

export const fromGitHub = (r: GitHubRepoJson): SourceRepo => ({
  owner: r.owner.login,
  name: r.name,
  private: r.private,
  fork: r.fork,
  archived: r.archived ?? false,
  pushedAt: r.pushed_at ?? '1970-01-01T00:00:00Z',
  cloneUrl: r.clone_url ?? `https://github.com/${r.owner.login}/${r.name}.git`,
  defaultBranch: r.default_branch ?? '',
});

export interface OwnerRule {
  kind: 'org' | 'user';
  name: string;
  include: RegExp;
  exclude?: RegExp;
  forks: boolean;
  archived: boolean;
}

export interface Rules {
  repos: { owner: string; name: string }[];
  owners: OwnerRule[];
  targetOrg?: string;
}

export interface Selected {
  source: SourceRepo;
  /** Where the mirror lives in Gitea. */
  org: string;
  /** What selected it: `repos`, `org acme`, `user octocat`. */
  via: string;
}

function regex(pattern: string, key: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new UserError(`${key}: '${pattern}' is not a valid regular expression (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`, {
      hint: 'a JavaScript regular expression, matched against the repository name, e.g. ^(api|web)-',
    });
  }
}

/** The config's selection, checked: `owner/name` entries and compilable regexes, or exit 2 naming the bad one. */
export function compileRules(mirror: Config['mirror']): Rules {
  const repos = mirror.repos.map((entry, i) => {
    const m = entry.match(/^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/);
    if (!m) throw new UserError(`mirror.repos.${i}: '${entry}' is not owner/name`, { hint: 'e.g. octocat/hello-world' });
    return { owner: m[1]!, name: m[2]! };
  });
  const owners = (['orgs', 'users'] as const).flatMap((list) =>
    mirror[list].map((o, i) => ({
      kind: list === 'orgs' ? ('org' as const) : ('user' as const),
      name: o.name,
      include: regex(o.include, `mirror.${list}.${i}.include`),
      exclude: o.exclude === undefined ? undefined : regex(o.exclude, `mirror.${list}.${i}.exclude`),
      forks: o.forks,
      archived: o.archived,
    })),
  );
  return { repos, owners, targetOrg: mirror.targetOrg };
}

export function matchesRule(rule: OwnerRule, repo: SourceRepo): boolean {
  if (repo.fork && !rule.forks) return false;
  if (repo.archived && !rule.archived) return false;
  return rule.include.test(repo.name) && !(rule.exclude?.test(repo.name) ?? false);
}

export const targetOrg = (rules: Rules, owner: string) => rules.targetOrg ?? owner;

/**
 * What gets mirrored: the listed repos, then each owner's repos that its rule matches, each
 * once, with the Gitea org it goes to (the owner's name, or mirror.targetOrg for all).
 */
export function selectRepos(rules: Rules, singles: SourceRepo[], owned: { rule: OwnerRule; repos: SourceRepo[] }[]): Selected[] {
  const chosen = new Map<string, Selected>();
  const add = (source: SourceRepo, via: string) => {
    const key = `${source.owner}/${source.name}`.toLowerCase();
    if (!chosen.has(key)) chosen.set(key, { source, org: targetOrg(rules, source.owner), via });
  };
  for (const repo of singles) add(repo, 'repos');
  for (const { rule, repos } of owned) for (const repo of repos.filter((r) => matchesRule(rule, r))) add(repo, `${rule.kind} ${rule.name}`);
  return [...chosen.values()];
}

/** A repository named in a webhook: is it one the config mirrors? */
export function isSelected(rules: Rules, repo: SourceRepo): boolean {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (rules.repos.some((r) => same(r.owner, repo.owner) && same(r.name, repo.name))) return true;
  return rules.owners.some((rule) => same(rule.name, repo.owner) && matchesRule(rule, repo));
}
