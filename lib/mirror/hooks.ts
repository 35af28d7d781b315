import type { LoadedConfig } from '../config.js';
import { UserError } from '../errors.js';
import { githubClient } from './run.js';
import { compileRules } from './select.js';
import { listSources } from './sources.js';

interface GitHubHook {
  id: number;
  active: boolean;
  events: string[];
  config: { url?: string };
}

/**
 * GitHub push webhooks to `serve` at webhook.publicUrl: one per selected org, one per repository
 * selected on its own or through a user (users have no account-wide hooks). Existing hooks with
 * that URL are kept (re-enabled for push if needed), so a second run changes nothing.
 */
export async function installHooks(loaded: LoadedConfig, env: NodeJS.ProcessEnv, options: { dryRun: boolean }): Promise<string[]> {
  const { config, secrets } = loaded;
  const base = config.webhook.publicUrl;
  if (!base) throw new UserError('mirror hooks: webhook.publicUrl is not set', { hint: 'the URL where GitHub reaches `raibid-task serve`, e.g. https://ci.example.com' });
  if (!secrets.githubToken) throw new UserError('mirror hooks: GITHUB_TOKEN is not set', { hint: 'a token with admin:org_hook (orgs) and admin:repo_hook (repositories)' });
  if (!secrets.webhookSecret) {
    throw new UserError('mirror hooks: RAIBID_WEBHOOK_SECRET is not set', { hint: "the cluster's: kubectl -n raibid get secret raibid-webhook -o jsonpath='{.data.secret}' | base64 -d" });
  }
  const url = `${base.replace(/\/+$/, '')}/hooks/github`;
  const rules = compileRules(config.mirror);
  const github = githubClient(loaded, env);
  const orgs = rules.owners.filter((r) => r.kind === 'org').map((r) => `/orgs/${encodeURIComponent(r.name)}`);
  const userRules = { ...rules, repos: [], owners: rules.owners.filter((r) => r.kind === 'user') };
  const viaUsers = userRules.owners.length > 0 ? (await listSources(github, userRules, secrets.githubToken)).selected.map((s) => s.source) : [];
  const repos = [...rules.repos, ...viaUsers].map((r) => `/repos/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.name)}`);
  const lines: string[] = [];
  for (const owner of [...orgs, ...repos]) {
    const where = owner.replace(/^\/(orgs|repos)\//, '');
    // every page: GitHub answers 30 hooks a page, and ours may be on any of them
    const found = (await github.list<GitHubHook>(`${owner}/hooks`)).find((h) => h.config.url === url);
    if (found && found.active && found.events.includes('push')) {
      lines.push(`${where}: webhook to ${url} already there`);
      continue;
    }
    if (options.dryRun) {
      lines.push(`${where}: would ${found ? 'enable' : 'create'} the push webhook to ${url}`);
      continue;
    }
    if (found) await github.write('PATCH', `${owner}/hooks/${found.id}`, { active: true, events: [...new Set([...found.events, 'push'])] });
    else await github.write('POST', `${owner}/hooks`, { name: 'web', active: true, events: ['push'], config: { url, content_type: 'json', secret: secrets.webhookSecret, insecure_ssl: '0' } });
    lines.push(`${where}: push webhook to ${url} ${found ? 'enabled' : 'created'}`);
  }
  github.saveCache();
  return lines;
}
