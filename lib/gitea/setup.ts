import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { failure } from '../errors.js';
import { sh } from '../local-commands.js';
import { pollUntil } from '../poll.js';
import type { CreateHookOption } from 'gitea-js';
import { GiteaApiError, GiteaClient, authHeader } from './client.js';

/** The token raibid-task keeps for itself: mirrors, the config repo, webhooks, commit statuses. */
export const TOKEN_NAME = 'raibid-task';
export const TOKEN_SCOPES = ['write:admin', 'write:organization', 'write:repository', 'write:user'];
/** The token agents clone with and Flux pulls with (REQUIRE_SIGNIN_VIEW: no anonymous reads). */
export const READ_TOKEN_NAME = 'raibid-read';
export const READ_TOKEN_SCOPES = ['read:repository'];

export interface GiteaSetupInput {
  url: string;
  admin: { username: string; password: string };
  /** The tokens kept from an earlier run, reused while Gitea still accepts them. */
  token?: string;
  readToken?: string;
  org: string;
  repo: string;
  /** Files the config repo starts with, when it is empty. */
  seed: Record<string, string>;
  hook: { url: string; secret: string; rotated: boolean };
  timeoutMs: number;
  pollMs?: number;
}

export interface GiteaSetupResult {
  token: string;
  readToken: string;
  changes: string[];
}

function waitForApi(client: GiteaClient, timeoutMs: number, pollMs: number): Promise<void> {
  const hint = 'is gitea.url right, and the Gitea pod running? `kubectl -n raibid get pods`';
  return pollUntil(`Gitea at ${client.url}`, { timeoutMs, pollMs, hint }, () =>
    client.call('GET /version').then(
      () => undefined,
      (error: Error) => `an answer (last: ${error.message})`,
    ),
  );
}

/** The kept token while it still works (`works`, a call it must be allowed), else a new one of that name. */
async function ensureToken(
  input: GiteaSetupInput,
  kept: string | undefined,
  name: string,
  scopes: string[],
  works: (client: GiteaClient) => Promise<{ status: number }>,
  changes: string[],
): Promise<string> {
  if (kept && (await works(new GiteaClient(input.url, { token: kept }))).status === 200) return kept;
  const admin = new GiteaClient(input.url, input.admin);
  const username = input.admin.username;
  await admin.call('DELETE /users/{username}/tokens/{token}', { params: { username, token: name }, accept: [404] });
  const created = await admin.call('POST /users/{username}/tokens', { params: { username }, body: { name, scopes } });
  changes.push(`token ${name} created`);
  return created.body.sha1 ?? '';
}

async function seedRepo(cloneUrl: string, token: string, username: string, files: Record<string, string>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'raibid-seed-'));
  const hint = 'is git installed, and does Gitea accept pushes over HTTP?';
  const git = async (...args: string[]) => {
    const done = await sh({
      cwd: dir,
      env: {
        ...process.env,
        GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: 'raibid-task',
        GIT_AUTHOR_EMAIL: 'raibid-task@localhost',
        GIT_COMMITTER_NAME: 'raibid-task',
        GIT_COMMITTER_EMAIL: 'raibid-task@localhost',
        // the credential travels in a header from the environment: never in the URL, argv or a file
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: `Authorization: ${authHeader({ username, password: token })}`,
      },
    })`git ${args}`;
    if (done.exitCode !== 0) throw failure(`seeding ${cloneUrl}: git failed: ${done.stderr.trim().split('\n').pop() || `exit ${done.exitCode}`}`, hint);
  };
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    await git('init', '--quiet', '-b', 'main');
    await git('add', '--all');
    await git('commit', '--quiet', '-m', 'Cluster config, seeded by raibid-task');
    await git('push', '--quiet', cloneUrl, 'main');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One system webhook (it fires for every repository) to the dispatcher. Gitea makes a hook a
 * system one only for `config.is_system_webhook: "true"` and lists only those by default; its
 * PATCH never changes a secret, so a rotated secret means a new hook. A hook to our URL that is
 * not a system one (made wrongly before) is replaced too.
 */
async function ensureHook(client: GiteaClient, hook: GiteaSetupInput['hook'], changes: string[]): Promise<void> {
  const wanted: CreateHookOption = {
    type: 'gitea',
    config: { url: hook.url, content_type: 'json', secret: hook.secret, is_system_webhook: 'true' },
    events: ['push'],
    active: true,
  };
  const ours = (type: 'system' | 'all') => client.list('GET /admin/hooks', { query: { type } }).then((r) => r.items.filter((h) => h.config?.url === hook.url));
  const [system, all] = await Promise.all([ours('system'), ours('all')]);
  const found = system[0];
  const stale = all.filter((h) => h.id !== found?.id || hook.rotated);
  for (const old of stale) await client.call('DELETE /admin/hooks/{id}', { params: { id: old.id ?? 0 } });
  if (!found || hook.rotated) {
    await client.call('POST /admin/hooks', { body: wanted });
    changes.push(`push webhook to ${hook.url} ${found ? 'made again with the new secret' : 'created'}`);
  } else if (!found.active || found.events?.join() !== 'push' || found.config?.content_type !== 'json') {
    // PATCH always carries events: Gitea resets them to push otherwise
    await client.call('PATCH /admin/hooks/{id}', {
      params: { id: found.id ?? 0 },
      body: { active: true, events: wanted.events, config: { url: hook.url, content_type: 'json' } },
    });
    changes.push(`push webhook to ${hook.url} updated`);
  }
}

/**
 * Gitea as the platform needs it, once its API answers: a scoped token for raibid-task, the
 * organisation, the config repo Flux reads (seeded over git HTTP while empty; after that it is
 * the user's), and one system-wide push webhook to the dispatcher. Each step checks first, so a
 * re-run changes nothing.
 */
export async function setupGitea(input: GiteaSetupInput): Promise<GiteaSetupResult> {
  const changes: string[] = [];
  await waitForApi(new GiteaClient(input.url, input.admin), input.timeoutMs, input.pollMs ?? 2000);
  try {
    const token = await ensureToken(input, input.token, TOKEN_NAME, TOKEN_SCOPES, (c) => c.call('GET /user', { accept: [401, 403] }), changes);
    const client = new GiteaClient(input.url, { token });
    const org = input.org;
    if ((await client.call('GET /orgs/{org}', { params: { org }, accept: [404] })).status === 404) {
      await client.call('POST /orgs', { body: { username: org, visibility: 'private' } });
      changes.push(`org ${input.org} created`);
    }
    let repo = await client.call('GET /repos/{owner}/{repo}', { params: { owner: org, repo: input.repo }, accept: [404] });
    if (repo.status === 404) {
      repo = await client.call('POST /orgs/{org}/repos', {
        params: { org },
        body: { name: input.repo, private: true, default_branch: 'main', auto_init: false, description: 'What Flux syncs into the raibid cluster' },
      });
      changes.push(`repo ${input.org}/${input.repo} created`);
    }
    if (repo.body.empty) {
      await seedRepo(`${input.url.replace(/\/+$/, '')}/${input.org}/${input.repo}.git`, token, input.admin.username, input.seed);
      changes.push(`repo ${input.org}/${input.repo} seeded`);
    }
    await ensureHook(client, input.hook, changes);
    const readConfigRepo = (c: GiteaClient) => c.call('GET /repos/{owner}/{repo}', { params: { owner: org, repo: input.repo }, accept: [401, 403, 404] });
    const readToken = await ensureToken(input, input.readToken, READ_TOKEN_NAME, READ_TOKEN_SCOPES, readConfigRepo, changes);
    return { token, readToken, changes };
  } catch (error) {
    if (error instanceof GiteaApiError)
      throw failure(
        `Gitea setup: ${error.message}`,
        error.status === 401 ? 'the admin password in Secret raibid/raibid-gitea-admin no longer matches Gitea' : undefined,
      );
    throw error;
  }
}
