import type { LoadedConfig } from '../config.js';
import { UserError } from '../errors.js';
import type { GitHubClient } from '../github/client.js';
import { githubClient } from './run.js';
import { compileRules } from './select.js';
import { listSources } from './sources.js';

interface HookTarget {
  where: string;
  list: () => Promise<{ id: number; active: boolean; events: string[]; config: { url?: string } }[]>;
  enable: (id: number, events: string[]) => Promise<unknown>;
  create: () => Promise<unknown>;
}

type HookConfig = { url: string; content_type: string; secret: string | undefined; insecure_ssl: string };

const orgHooks = (github: GitHubClient, org: string, config: HookConfig): HookTarget => ({
  where: org,
  list: () => github.list('GET /orgs/{org}/hooks', { org }),
  enable: (hook_id, events) => github.write('PATCH /orgs/{org}/hooks/{hook_id}', { org, hook_id, active: true, events }),
  create: () => github.write('POST /orgs/{org}/hooks', { org, name: 'web', active: true, events: ['push'], config }),
});

const repoHooks = (github: GitHubClient, owner: string, repo: string, config: HookConfig): HookTarget => ({
  where: `${owner}/${repo}`,
  list: () => github.list('GET /repos/{owner}/{repo}/hooks', { owner, repo }),
  enable: (hook_id, events) => github.write('PATCH /repos/{owner}/{repo}/hooks/{hook_id}', { owner, repo, hook_id, active: true, events }),
  create: () => github.write('POST /repos/{owner}/{repo}/hooks', { owner, repo, name: 'web', active: true, events: ['push'], config }),
});

/**
 * GitHub push webhooks to `serve` at webhook.publicUrl: one per selected org, one per repository
 * selected on its own or through a user (users have no account-wide hooks). Existing hooks with
 * that URL are kept (re-enabled for push if needed), so a second run changes nothing.
 */
export async function installHooks(loaded: LoadedConfig, env: NodeJS.ProcessEnv, options: { dryRun: boolean }): Promise<string[]> {
  const { config, secrets } = loaded;
  const base = config.webhook.publicUrl;
  if (!base)
    throw new UserError('mirror hooks: webhook.publicUrl is not set', {
      hint: 'the URL where GitHub reaches `raibid-task serve`, e.g. https://ci.example.com',
    });
  if (!secrets.githubToken)
    throw new UserError('mirror hooks: GITHUB_TOKEN is not set', { hint: 'a token with admin:org_hook (orgs) and admin:repo_hook (repositories)' });
  if (!secrets.webhookSecret) {
    throw new UserError('mirror hooks: RAIBID_WEBHOOK_SECRET is not set', {
      hint: "the cluster's: kubectl -n raibid get secret raibid-webhook -o jsonpath='{.data.secret}' | base64 -d",
    });
  }
  const url = `${base.replace(/\/+$/, '')}/hooks/github`;
  const rules = compileRules(config.mirror);
  const github = githubClient(loaded, env);
  const userRules = { ...rules, repos: [], owners: rules.owners.filter((r) => r.kind === 'user') };
  const viaUsers = userRules.owners.length > 0 ? (await listSources(github, userRules, secrets.githubToken)).selected.map((s) => s.source) : [];
  const hook = { url, content_type: 'json', secret: secrets.webhookSecret, insecure_ssl: '0' };
  const targets: HookTarget[] = [
    ...rules.owners.filter((r) => r.kind === 'org').map((r) => orgHooks(github, r.name, hook)),
    ...[...rules.repos, ...viaUsers].map((r) => repoHooks(github, r.owner, r.name, hook)),
  ];
  const lines: string[] = [];
  for (const { where, list, enable, create } of targets) {
    // every page: GitHub answers 30 hooks a page, and ours may be on any of them
    const found = (await list()).find((h) => h.config.url === url);
    if (found && found.active && found.events.includes('push')) {
      lines.push(`${where}: webhook to ${url} already there`);
      continue;
    }
    if (options.dryRun) {
      lines.push(`${where}: would ${found ? 'enable' : 'create'} the push webhook to ${url}`);
      continue;
    }
    if (found) await enable(found.id, [...new Set([...found.events, 'push'])]);
    else await create();
    lines.push(`${where}: push webhook to ${url} ${found ? 'enabled' : 'created'}`);
  }
  github.saveCache();
  return lines;
}
