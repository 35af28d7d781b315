import type { ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { setCommitStatus } from '../lib/gitea/commit-status.js';
import { setupGitea } from '../lib/gitea/setup.js';
import { killStragglers, runCli, spawnCli, waitForOutput, exited } from './fixtures/cli.js';
import { CONFORMANCE_DIR, conformanceAvailable } from './fixtures/conformance.js';
import { type FakeGitea, startFakeGitea } from './fixtures/fake-gitea.js';
import { type FakeGitHub, startFakeGitHub } from './fixtures/fake-github.js';
import { type GiteaSwagger, giteaSwagger, requestViolations, swaggerFile } from './fixtures/gitea-swagger.js';
import { mirrorEnv, pushTo, sourceRepo } from './fixtures/github-repo.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';

function swaggerAvailable(): boolean {
  if (!conformanceAvailable('conformance gitea')) return false;
  if (existsSync(swaggerFile(CONFORMANCE_DIR!))) return true;
  process.stdout.write(`\nskipped conformance gitea: ${swaggerFile(CONFORMANCE_DIR!)} is missing\n`);
  return false;
}

const available = swaggerAvailable();
const ADMIN = { username: 'raibid-admin', password: 'admin-password-for-tests' };
const json = (body: unknown) => JSON.stringify(body);

const headOf = (gitDir: string, branch = 'main') =>
  execFileSync('git', ['--git-dir', gitDir, 'rev-parse', `refs/heads/${branch}`], { encoding: 'utf8' }).trim();

// ---------------------------------------------------------------------------------------------

const checker = suite("conformance: the check of a request against Gitea's swagger");
const itChecks = available ? checker : checker.skip;
let swagger: GiteaSwagger;

checker.before(() => {
  if (available) swagger = giteaSwagger()!;
});

const violations = (method: string, path: string, body?: unknown) =>
  requestViolations(swagger, { method, path, body: body === undefined ? undefined : json(body), contentType: 'application/json' });

itChecks('requests the description has pass, the one 1.24 addition included', () => {
  assert.equal(violations('GET', '/api/v1/version'), []);
  assert.equal(
    violations('POST', '/api/v1/repos/migrate', {
      clone_addr: 'https://github.com/a/b.git',
      repo_owner: 'acme',
      repo_name: 'b',
      mirror: true,
      mirror_interval: '8h0m0s',
      service: 'git',
    }),
    [],
  );
  assert.equal(
    violations('POST', '/api/v1/admin/hooks', {
      type: 'gitea',
      config: { url: 'http://x/hooks/gitea', content_type: 'json', is_system_webhook: 'true' },
      events: ['push'],
      active: true,
    }),
    [],
  );
  assert.equal(violations('GET', '/api/v1/admin/hooks?type=all&limit=50&page=2'), [], 'type: routers/api/v1/admin/hooks.go in 1.24');
  assert.equal(violations('GET', '/api/v1/orgs/acme/repos?limit=50&page=1&token=abc'), [], 'token is a generic query parameter');
});

itChecks('an unknown path and a wrong method are caught', () => {
  assert.equal(violations('GET', '/api/v1/repos/acme/b/mirror-status'), ['GET /api/v1/repos/acme/b/mirror-status: no path template matches']);
  assert.equal(violations('GET', '/repos/acme/b'), ["GET /repos/acme/b: not under the API's basePath /api/v1"]);
  assert.equal(violations('PUT', '/api/v1/repos/acme/b/mirror-sync'), [
    'PUT /api/v1/repos/acme/b/mirror-sync: /repos/{owner}/{repo}/mirror-sync has no PUT (only POST)',
  ]);
});

itChecks('an unknown body field, a wrong type, a missing required field and a bad enum value are caught, nested ones too', () => {
  const at = 'POST /api/v1/repos/migrate (repoMigrate, /repos/migrate)';
  assert.equal(violations('POST', '/api/v1/repos/migrate', { clone_addr: 'x', repo_name: 'b', mirror: 'yes', wikis: true }), [
    `${at}: body.mirror is string where the description says boolean`,
    `${at}: body.wikis is not a property of MigrateRepoOptions`,
  ]);
  assert.equal(violations('POST', '/api/v1/repos/migrate', { repo_name: 'b', service: 'svn' }), [
    `${at}: body.service is "svn", not one of git, github, gitea, gitlab, gogs, onedev, gitbucket, codebase`,
    `${at}: body.clone_addr is required by MigrateRepoOptions and missing`,
  ]);
  // CreateHookOptionConfig is a map of strings: Gitea's binding refuses a boolean in it
  assert.equal(
    violations('POST', '/api/v1/admin/hooks', { type: 'gitea', config: { url: 'u', content_type: 'json', is_system_webhook: true }, is_system_webhook: true }),
    [
      'POST /api/v1/admin/hooks (adminCreateHook, /admin/hooks): body.config.is_system_webhook is boolean where the description says string',
      'POST /api/v1/admin/hooks (adminCreateHook, /admin/hooks): body.is_system_webhook is not a property of CreateHookOption',
    ],
  );
  assert.equal(violations('POST', '/api/v1/orgs/acme/repos', { name: 'b', private: true, topics: ['x'] }), [
    'POST /api/v1/orgs/acme/repos (createOrgRepo, /orgs/{org}/repos): body.topics is not a property of CreateRepoOption',
  ]);
});

itChecks('undeclared or mistyped query and path parameters, a body where none is taken and a missing one are caught', () => {
  assert.equal(violations('GET', '/api/v1/orgs/acme/repos?per_page=100'), [
    "GET /api/v1/orgs/acme/repos (orgListRepos, /orgs/{org}/repos): query parameter 'per_page' is not declared",
  ]);
  assert.equal(violations('GET', '/api/v1/admin/hooks?type=every&page=x'), [
    "GET /api/v1/admin/hooks (adminListHooks, /admin/hooks): query parameter type is 'every', not one of system, default, all",
    "GET /api/v1/admin/hooks (adminListHooks, /admin/hooks): query parameter page is 'x', not an integer",
  ]);
  assert.equal(violations('DELETE', '/api/v1/admin/hooks/latest'), [
    "DELETE /api/v1/admin/hooks/latest (adminDeleteHook, /admin/hooks/{id}): path parameter id is 'latest', not an integer",
  ]);
  assert.equal(violations('POST', '/api/v1/repos/acme/b/mirror-sync', { force: true }), [
    'POST /api/v1/repos/acme/b/mirror-sync (repoMirrorSync, /repos/{owner}/{repo}/mirror-sync): the operation takes no body',
  ]);
  assert.equal(violations('POST', '/api/v1/orgs'), ['POST /api/v1/orgs (orgCreate, /orgs): a body (CreateOrgOption) is required and missing']);
  assert.equal(
    requestViolations(swagger, { method: 'POST', path: '/api/v1/orgs', body: 'username=acme&colour=red', contentType: 'application/x-www-form-urlencoded' }),
    ["POST /api/v1/orgs (orgCreate, /orgs): form field 'colour' is not declared"],
  );
});

itChecks('the fake Gitea refuses such a request with 400, records it and says so', async () => {
  const gitea = await startFakeGitea();
  try {
    assert.ok(gitea.swaggerChecked);
    const answer = await fetch(`${gitea.url}/api/v1/orgs`, {
      method: 'POST',
      headers: { Authorization: `token ${gitea.token}`, 'Content-Type': 'application/json' },
      body: json({ username: 'acme', colour: 'red' }),
    });
    assert.is(answer.status, 400);
    assert.match(
      ((await answer.json()) as { message: string }).message,
      /^not in Gitea's swagger: POST \/api\/v1\/orgs \(orgCreate, \/orgs\): body\.colour is not a property of CreateOrgOption$/,
    );
    assert.equal(gitea.violations, ['POST /api/v1/orgs (orgCreate, /orgs): body.colour is not a property of CreateOrgOption']);
    assert.not.ok(gitea.orgs.has('acme'), 'and did nothing');
  } finally {
    await gitea.close();
  }
});

checker.run();

// ---------------------------------------------------------------------------------------------

const flows = suite("conformance: every Gitea request raibid-task makes is in Gitea's swagger");
const itFlows = available ? flows : flows.skip;
let dir: string;
let github: FakeGitHub;
let gitea: FakeGitea;
let redis: RedisServer;

flows.before(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'raibid-conformance-gitea-'));
  [github, gitea, redis] = await Promise.all([
    startFakeGitHub(),
    startFakeGitea({ admin: { username: ADMIN.username, password: () => ADMIN.password } }),
    startRedis(),
  ]);
  for (const name of ['api-one', 'api-two', 'api-three', 'api-four']) sourceRepo(dir, github, 'acme', name);
});

flows.after(async () => {
  if (!available) return;
  killStragglers();
  await Promise.all([github.close(), gitea.close(), redis.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** A violation is refused with 400, which fails the flow already; this names any the flow shrugged off. */
const noneStrayed = () => assert.equal(gitea.violations.splice(0), [], "every request in Gitea's swagger");

function configFile(name: string, config: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ gitea: { url: gitea.url }, github: { apiUrl: github.url }, ...config }));
  return file;
}

const mirrorCli = (args: string[], config: string, extra: NodeJS.ProcessEnv = {}) =>
  runCli(['mirror', ...args], { env: mirrorEnv(dir, github, gitea, config, extra) });

const ORG_RULE = { orgs: [{ name: 'acme', include: '^api-' }] };

async function syncOk(config: string, ...flags: string[]): Promise<string> {
  const result = await mirrorCli(['sync', ...flags], config);
  assert.is(result.code, 0, result.stderr + result.stdout);
  return result.stdout;
}

itFlows('mirror sync: org and mirrors created, a push synced, an interval changed', async () => {
  assert.ok(gitea.swaggerChecked);
  await syncOk(configFile('org', { mirror: ORG_RULE }));
  assert.ok(gitea.repos.has('acme/api-one'));
  // a push in the second the mirror was made would not count as newer: make the mirror older
  gitea.repos.get('acme/api-one')!.mirrorUpdated = '2001-01-01T00:00:00Z';
  pushTo(dir, github, 'acme', 'api-one', 'feature.txt');
  assert.match(await syncOk(configFile('org', { mirror: ORG_RULE }), '--full'), 'synced 1');
  assert.match(await syncOk(configFile('interval', { mirror: { ...ORG_RULE, intervalMinutes: 60 } }), '--full'), 'interval set to 1h0m0s');
  const methods = new Set(gitea.requests.map((r) => `${r.method} ${r.path.replace(/acme\/api-[a-z]+/, 'acme/*')}`));
  for (const made of [
    'POST /api/v1/orgs',
    'POST /api/v1/repos/migrate',
    'GET /api/v1/orgs/acme/repos',
    'POST /api/v1/repos/acme/*/mirror-sync',
    'PATCH /api/v1/repos/acme/*',
  ])
    assert.ok(methods.has(made), made);
  noneStrayed();
});

itFlows('mirror sync: orphans frozen, renamed, pruned; a mirror removed behind its back made again', async () => {
  github.removeRepo('acme', 'api-two');
  assert.match(
    await syncOk(configFile('archive', { mirror: { ...ORG_RULE, intervalMinutes: 60, whenDeleted: 'archive' } }), '--full'),
    'acme/api-two: deleted on GitHub; mirror frozen',
  );
  github.renameRepo('acme', 'api-three', 'api-three-next');
  assert.match(await syncOk(configFile('renames', { mirror: { ...ORG_RULE, intervalMinutes: 60, whenRenamed: 'rename' } }), '--full'), 'mirror renamed');
  assert.match(
    await syncOk(configFile('interval', { mirror: { ...ORG_RULE, intervalMinutes: 60 } }), '--full', '--prune'),
    'acme/api-two: deleted on GitHub; mirror deleted (--prune)',
  );
  // from the state of that clean run: the mirror-sync answers 404, and the mirror is migrated again
  await fetch(`${gitea.url}/api/v1/repos/acme/api-four`, { method: 'DELETE', headers: { Authorization: `token ${gitea.token}` } });
  pushTo(dir, github, 'acme', 'api-four', 'again.txt');
  assert.match(await syncOk(configFile('interval', { mirror: { ...ORG_RULE, intervalMinutes: 60 } })), 'created 1');
  noneStrayed();
});

itFlows('doctor and `mirror hooks install` read what they need', async () => {
  const config = configFile('hooks', { webhook: { publicUrl: 'https://ci.example.com' }, mirror: ORG_RULE });
  const doctor = await runCli(['doctor', '--json', '--kubeconfig', join(dir, 'no-kubeconfig')], {
    env: { RAIBID_CONFIG: config, GITEA_TOKEN: gitea.token, GITHUB_TOKEN: github.token, RAIBID_REDIS_URL: redis.url, XDG_CACHE_HOME: join(dir, 'cache') },
  });
  const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks;
  assert.ok(checks.find((c) => c.name === 'Gitea API and token')?.ok, doctor.stdout);
  const hooks = await mirrorCli(['hooks', 'install'], config, { RAIBID_WEBHOOK_SECRET: 'hook-secret' });
  assert.is(hooks.code, 0, hooks.stderr);
  noneStrayed();
});

itFlows('Gitea setup: token, org, config repo seeded, system hook; again unchanged; a rotated secret and a stray default hook', async () => {
  const input = {
    url: gitea.url,
    admin: ADMIN,
    org: 'raibid',
    repo: 'cluster-config',
    seed: { 'README.md': 'config\n' },
    hook: { url: 'http://serve/hooks/gitea', secret: 'first', rotated: false },
    timeoutMs: 5000,
    pollMs: 50,
  };
  const first = await setupGitea(input);
  assert.ok(first.changes.length >= 4, first.changes.join('; '));
  assert.match(first.changes.join(), 'token raibid-read created');
  const again = await setupGitea({ ...input, token: first.token, readToken: first.readToken });
  assert.equal(again.changes, []);
  gitea.hooks.push({
    id: 9000,
    type: 'gitea',
    config: { url: input.hook.url, content_type: 'form' },
    events: ['push'],
    active: true,
    system: false,
    secret: '',
  });
  gitea.hooks[0]!.active = false;
  await setupGitea({ ...input, token: first.token, readToken: first.readToken });
  const rotated = await setupGitea({ ...input, token: first.token, readToken: first.readToken, hook: { ...input.hook, secret: 'second', rotated: true } });
  assert.match(rotated.changes.join(), 'made again with the new secret');
  assert.equal(
    gitea.hooks.map((h) => [h.system, h.secret]),
    [[true, 'second']],
  );
  noneStrayed();
});

itFlows('commit statuses as serve sets them', async () => {
  const sha = headOf(gitea.gitDir('acme', 'api-one'));
  for (const state of ['pending', 'success'] as const)
    await setCommitStatus({ url: gitea.url, token: gitea.token }, { repo: 'acme/api-one', sha }, state, `build ${state}`, 'http://ci/jobs/1');
  assert.equal(
    gitea.statuses.get(`acme/api-one@${sha}`)?.map((s) => s.state),
    ['pending', 'success'],
  );
  noneStrayed();
});

itFlows('serve: a GitHub push syncs its mirror (or finds none yet), a Gitea push queues the build', async () => {
  const config = configFile('serve', { mirror: ORG_RULE });
  const secret = 'webhook-secret-for-tests';
  const serve: ChildProcess = spawnCli(['serve', '--port', '0'], {
    env: { RAIBID_CONFIG: config, RAIBID_REDIS_URL: redis.url, RAIBID_WEBHOOK_SECRET: secret, GITEA_TOKEN: gitea.token },
  });
  const base = `http://127.0.0.1:${(await waitForOutput(serve, /listening on 127\.0\.0\.1 port (\d+)/)).match(/port (\d+)/)![1]}`;
  const deliver = async (hook: string, headers: Record<string, string>, repo: string, after: string) => {
    const body = json({
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      after,
      repository: { full_name: repo, clone_url: `${gitea.url}/${repo}.git`, fork: false, archived: false },
    });
    const signature = createHmac('sha256', secret).update(body).digest('hex');
    const response = await fetch(`${base}/hooks/${hook}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': `sha256=${signature}`, 'X-Gitea-Signature': signature, ...headers },
      body,
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const sha = pushTo(dir, github, 'acme', 'api-one', 'hooked.txt');
  assert.is((await deliver('github', { 'X-GitHub-Event': 'push' }, 'acme/api-one', sha)).synced, 'acme/api-one');
  assert.match(String((await deliver('github', { 'X-GitHub-Event': 'push' }, 'acme/api-new', 'e'.repeat(40))).ignored), 'no mirror acme/api-new yet');
  assert.ok((await deliver('gitea', { 'X-Gitea-Event': 'push' }, 'acme/api-one', sha)).queued);
  serve.kill('SIGINT');
  assert.is(await exited(serve), 0);
  noneStrayed();
});

flows.run();

// ---------------------------------------------------------------------------------------------

const behaviour = suite('fake Gitea: behaviour read in Gitea 1.24');
let place: string;
let fake: FakeGitea;
let source: FakeGitHub;
const auth = () => ({ Authorization: `token ${fake.token}`, 'Content-Type': 'application/json' });
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${fake.url}/api/v1${path}`, { ...init, headers: { ...auth(), ...(init.headers as Record<string, string>) } });

behaviour.before(async () => {
  place = mkdtempSync(join(tmpdir(), 'raibid-fake-gitea-'));
  [fake, source] = await Promise.all([startFakeGitea(), startFakeGitHub()]);
  await api('/orgs', { method: 'POST', body: json({ username: 'bulk' }) });
  for (let i = 0; i < 75; i++) await api('/orgs/bulk/repos', { method: 'POST', body: json({ name: `repo-${String(74 - i).padStart(2, '0')}` }) });
});

behaviour.after(async () => {
  await Promise.all([fake.close(), source.close()]);
  rmSync(place, { recursive: true, force: true });
});

const names = async (response: Response) => ((await response.json()) as { name: string }[]).map((r) => r.name);
const appUrl = () => `${fake.url}/`;

behaviour('lists: 30 by default, at most 50, by id, with X-Total-Count and Link (next, last, first, prev)', async () => {
  const first = await api('/orgs/bulk/repos');
  assert.is((await names(first)).length, 30);
  assert.is(first.headers.get('x-total-count'), '75');
  assert.is(first.headers.get('link'), `<${appUrl()}api/v1/orgs/bulk/repos?page=2>; rel="next",<${appUrl()}api/v1/orgs/bulk/repos?page=3>; rel="last"`);
  const capped = await api('/orgs/bulk/repos?page=1&limit=100');
  const capped50 = await names(capped);
  assert.is(capped50.length, 50);
  assert.equal(capped50.slice(0, 2), ['repo-74', 'repo-73'], 'in the order they were made (id), not by name');
  const last = await api('/orgs/bulk/repos?limit=50&page=2');
  assert.is((await names(last)).length, 25);
  assert.is(
    last.headers.get('link'),
    `<${appUrl()}api/v1/orgs/bulk/repos?limit=50&page=1>; rel="first",<${appUrl()}api/v1/orgs/bulk/repos?limit=50&page=1>; rel="prev"`,
  );
  const beyond = await api('/orgs/bulk/repos?limit=50&page=9');
  assert.equal([(await names(beyond)).length, beyond.headers.get('x-total-count')], [0, '75']);
});

behaviour('admin hooks are listed all at once, without paging headers; a PATCH never changes a secret', async () => {
  const made = await api('/admin/hooks', {
    method: 'POST',
    body: json({
      type: 'gitea',
      config: { url: 'http://a/hook', content_type: 'json', secret: 'kept', is_system_webhook: 'true' },
      events: ['push'],
      active: true,
    }),
  });
  const { id } = (await made.json()) as { id: number };
  const listed = await api('/admin/hooks?limit=1&page=2');
  assert.equal([((await listed.json()) as unknown[]).length, listed.headers.get('link'), listed.headers.get('x-total-count')], [1, null, null]);
  assert.is((await api(`/admin/hooks/${id}`, { method: 'PATCH', body: json({ config: { secret: 'changed' }, events: ['push'] }) })).status, 200);
  assert.is(fake.hooks.find((h) => h.id === id)!.secret, 'kept');
});

behaviour('a body field Gitea does not know is dropped without a word (refused only by the swagger check)', async () => {
  const answer = await api('/orgs', { method: 'POST', body: json({ username: 'loose', colour: 'red' }) });
  if (fake.swaggerChecked) assert.is(answer.status, 400);
  else {
    assert.is(answer.status, 201);
    assert.ok(fake.orgs.has('loose'));
  }
});

behaviour('branches: the head commit from the repository; 404 for a missing branch or an empty repository; default_branch is HEAD', async () => {
  await api('/orgs', { method: 'POST', body: json({ username: 'acme' }) });
  sourceRepo(place, source, 'acme', 'trunky', { branch: 'trunk' });
  const migrated = await api('/repos/migrate', {
    method: 'POST',
    body: json({ clone_addr: join(place, 'github', 'acme', 'trunky.git'), repo_owner: 'acme', repo_name: 'trunky', mirror: true, service: 'git' }),
  });
  assert.is(((await migrated.json()) as { default_branch: string }).default_branch, 'trunk');
  const branch = (await (await api('/repos/acme/trunky/branches/trunk')).json()) as { name: string; commit: { id: string; message: string } };
  assert.equal([branch.name, branch.commit.id, branch.commit.message], ['trunk', headOf(join(place, 'github', 'acme', 'trunky.git'), 'trunk'), 'first']);
  assert.is((await api('/repos/acme/trunky/branches/main')).status, 404);
  assert.is((await api('/repos/acme/trunky/branches/trunk~1')).status, 404, 'a branch name, not a revision');
  assert.is((await api('/repos/bulk/repo-01/branches/main')).status, 404, 'an empty repository has no branches');
  assert.is(((await (await api('/repos/bulk/repo-01')).json()) as { default_branch: string }).default_branch, 'main');
});

behaviour('a failed mirror sync fetches nothing but still advances mirror_updated; the next one fetches', async () => {
  const mirror = fake.repos.get('acme/trunky')!;
  const before = headOf(mirror.path, 'trunk');
  const pushed = pushTo(place, source, 'acme', 'trunky', 'later.txt');
  mirror.mirrorUpdated = '2001-01-01T00:00:00Z';
  fake.failNextSync('acme/trunky');
  assert.is((await api('/repos/acme/trunky/mirror-sync', { method: 'POST' })).status, 200, 'the sync is only queued');
  assert.is(headOf(mirror.path, 'trunk'), before, 'nothing fetched');
  const updated = ((await (await api('/repos/acme/trunky')).json()) as { mirror_updated: string }).mirror_updated;
  assert.ok(updated > '2001-01-01T00:00:00Z', updated);
  await api('/repos/acme/trunky/mirror-sync', { method: 'POST' });
  assert.is(headOf(mirror.path, 'trunk'), pushed);
});

behaviour('a mirror cannot be archived: 422', async () => {
  assert.is((await api('/repos/acme/trunky', { method: 'PATCH', body: json({ archived: true }) })).status, 422);
});

behaviour.run();
