import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { tryLock } from '../lib/lock.js';
import { runCli } from './fixtures/cli.js';
import { type FakeGitea, startFakeGitea } from './fixtures/fake-gitea.js';
import { type FakeGitHub, startFakeGitHub } from './fixtures/fake-github.js';
import { mirrorEnv, pushTo, sourceRepo } from './fixtures/github-repo.js';
import { until } from './fixtures/wait.js';

const test = suite('mirror: GitHub into Gitea (fake APIs, real git content)');
let dir: string;
let github: FakeGitHub;
let gitea: FakeGitea;

const refs = (gitDir: string) => execFileSync('git', ['--git-dir', gitDir, 'for-each-ref', '--format=%(refname) %(objectname)'], { encoding: 'utf8' }).trim();

function configFile(name: string, mirror: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ gitea: { url: gitea.url }, github: { apiUrl: github.url }, mirror }));
  return file;
}

const env = (config: string, extra: NodeJS.ProcessEnv = {}) => mirrorEnv(dir, github, gitea, config, extra);

const mirrorCli = (args: string[], config: string, extra: NodeJS.ProcessEnv = {}) => runCli(['mirror', ...args], { env: env(config, extra) });

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-mirror-'));
  [github, gitea] = await Promise.all([startFakeGitHub(), startFakeGitea()]);
  for (const name of ['api-one', 'api-two', 'api-old', 'web-site']) sourceRepo(dir, github, 'acme', name);
  sourceRepo(dir, github, 'acme', 'api-secret', { private: true });
  sourceRepo(dir, github, 'acme', 'api-fork', { fork: true });
  sourceRepo(dir, github, 'acme', 'api-archive', { archived: true });
  sourceRepo(dir, github, 'octocat', 'hello-world', { ownerType: 'User' } as never);
  sourceRepo(dir, github, 'octocat', 'spoon-knife', { ownerType: 'User' } as never);
});
test.after(async () => {
  await Promise.all([github.close(), gitea.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const ORG_RULE = { orgs: [{ name: 'acme', include: '^api-', exclude: '-old$' }] };

test('list shows each selection mode and where each repo goes, changing nothing', async () => {
  const config = configFile('modes', { repos: ['acme/web-site'], ...ORG_RULE, users: [{ name: 'octocat', include: '^hello' }], targetOrg: 'mirrors' });
  const result = await mirrorCli(['list', '--json'], config);
  assert.is(result.code, 0, result.stderr);
  const { repos } = JSON.parse(result.stdout) as { repos: { source: string; target: string; via: string }[] };
  assert.equal(repos.map((r) => `${r.source} → ${r.target} (${r.via})`).sort(), [
    'acme/api-one → mirrors/api-one (org acme)',
    'acme/api-secret → mirrors/api-secret (org acme)',
    'acme/api-two → mirrors/api-two (org acme)',
    'acme/web-site → mirrors/web-site (repos)',
    'octocat/hello-world → mirrors/hello-world (user octocat)',
  ]);
  assert.is(gitea.requests.length, 0, 'Gitea not even asked');
  const forks = await mirrorCli(['list', '--json'], configFile('forks', { orgs: [{ name: 'acme', include: '^api-', forks: true, archived: true }] }));
  const names = (JSON.parse(forks.stdout) as { repos: { source: string }[] }).repos.map((r) => r.source);
  assert.ok(names.includes('acme/api-fork') && names.includes('acme/api-archive'), 'forks and archived when the rule says so');
});

test('an invalid regex or repo entry exits 2 naming it, before any request', async () => {
  const before = github.requests.length;
  const bad = await mirrorCli(['sync'], configFile('bad', { orgs: [{ name: 'acme', include: '^(api' }] }));
  assert.is(bad.code, 2);
  assert.match(bad.stderr, "mirror.orgs.0.include: '^(api' is not a valid regular expression");
  const entry = await mirrorCli(['list'], configFile('bad-entry', { repos: ['just-a-name'] }));
  assert.is(entry.code, 2);
  assert.match(entry.stderr, "mirror.repos.0: 'just-a-name' is not owner/name");
  assert.is(github.requests.length, before);
});

test("the first sync creates the org and pull mirrors with the sources' content; credentials stay out of clone URLs", async () => {
  const config = configFile('org', ORG_RULE);
  const result = await mirrorCli(['sync'], config);
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.match(result.stdout, 'created 3, synced 0, unchanged 0, failed 0');
  // its progress list, as plain lines without a terminal
  assert.match(result.stdout, /^✔ 3 repositories selected \(Gitea read in full\)$/m);
  assert.match(result.stdout, /^✔ Mirrors: created 3, synced 0, unchanged 0, failed 0$/m);
  assert.ok(gitea.orgs.has('acme'));
  for (const name of ['api-one', 'api-two', 'api-secret']) {
    assert.is(refs(gitea.gitDir('acme', name)), refs(join(dir, 'github', 'acme', `${name}.git`)), `${name} refs equal`);
  }
  for (const body of gitea.migrations) assert.not.match(String(body.clone_addr), '@', 'no credentials in the URL');
  const secret = gitea.migrations.find((m) => m.repo_name === 'api-secret')!;
  assert.equal([secret.mirror, secret.private, secret.auth_password], [true, true, github.token]);
  assert.is(gitea.migrations.find((m) => m.repo_name === 'api-one')!.auth_password, undefined, 'public repos need no credentials');
  assert.is(gitea.repos.get('acme/api-one')!.mirrorInterval, '8h0m0s');
});

test('a second run creates and syncs nothing, and every GitHub list request is a 304', async () => {
  const config = configFile('org', ORG_RULE);
  const from = github.requests.length;
  const giteaFrom = gitea.requests.length;
  const syncsBefore = [...gitea.syncs.values()].reduce((a, b) => a + b, 0);
  const result = await mirrorCli(['sync', '--json'], config);
  assert.is(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  assert.equal([summary.created, summary.synced, summary.unchanged, summary.failed], [0, 0, 3, 0]);
  const lists = github.requests.slice(from).filter((r) => r.path.startsWith('/orgs/acme/repos'));
  assert.ok(lists.length > 0 && lists.every((r) => r.status === 304), JSON.stringify(lists));
  assert.is(
    [...gitea.syncs.values()].reduce((a, b) => a + b, 0),
    syncsBefore,
  );
  assert.equal(gitea.requests.slice(giteaFrom), [], 'after a clean run Gitea is not even read');
  const full = await mirrorCli(['sync', '--json', '--full'], config);
  assert.equal([JSON.parse(full.stdout).fullCheck, JSON.parse(full.stdout).unchanged], [true, 3]);
});

test('a mirror removed in Gitea behind its back is made again when its source is pushed to', async () => {
  const config = configFile('org', ORG_RULE);
  await fetch(`${gitea.url}/api/v1/repos/acme/api-secret`, { method: 'DELETE', headers: { Authorization: `token ${gitea.token}` } });
  pushTo(dir, github, 'acme', 'api-secret', 'again.txt');
  const result = await mirrorCli(['sync'], config);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, 'created 1, synced 0, unchanged 2, failed 0');
  assert.is(refs(gitea.gitDir('acme', 'api-secret')), refs(join(dir, 'github', 'acme', 'api-secret.git')));
});

test('a push to one source repo: exactly one mirror-sync, and the mirror has the new commit', async () => {
  const config = configFile('org', ORG_RULE);
  pushTo(dir, github, 'acme', 'api-two', 'feature.txt');
  const before = new Map(gitea.syncs);
  const result = await mirrorCli(['sync'], config);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, 'created 0, synced 1, unchanged 2, failed 0');
  assert.is(gitea.syncs.get('acme/api-two'), (before.get('acme/api-two') ?? 0) + 1);
  assert.is(gitea.syncs.get('acme/api-one'), before.get('acme/api-one'));
  assert.is(refs(gitea.gitDir('acme', 'api-two')), refs(join(dir, 'github', 'acme', 'api-two.git')));
});

test('doctor reports how fresh the mirrors are', async () => {
  const config = configFile('org', ORG_RULE);
  const result = await runCli(['doctor', '--json', '--kubeconfig', join(dir, 'no-kubeconfig')], {
    env: { ...env(config), RAIBID_REDIS_URL: 'redis://127.0.0.1:1' },
  });
  const { checks } = JSON.parse(result.stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
  const fresh = checks.find((c) => c.name === 'mirrors fresh')!;
  assert.ok(fresh.ok, fresh.detail);
  assert.match(fresh.detail, /^3 mirrors, oldest acme\/api-\S+ synced \d+ min ago$/);
  assert.is(checks.find((c) => c.name === 'kubeconfig')!.ok, false);
  assert.is(result.code, 1, 'the failing checks make it exit 1');
});

test('a changed interval is set on the existing mirrors without syncing them', async () => {
  const config = configFile('interval', { ...ORG_RULE, intervalMinutes: 60 });
  const result = await mirrorCli(['sync'], config);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, 'acme/api-one: interval set to 1h0m0s');
  assert.is(gitea.repos.get('acme/api-one')!.mirrorInterval, '1h0m0s');
  assert.match(result.stdout, 'created 0, synced 0, unchanged 3, failed 0');
});

test('a source deleted on GitHub is reported and kept; --prune deletes its mirror', async () => {
  const config = configFile('interval', { ...ORG_RULE, intervalMinutes: 60 });
  github.removeRepo('acme', 'api-one');
  const reported = await mirrorCli(['sync'], config);
  assert.is(reported.code, 0, reported.stderr);
  assert.match(reported.stdout, 'acme/api-one: deleted on GitHub; kept (--prune deletes it)');
  assert.ok(gitea.repos.has('acme/api-one'));
  const pruned = await mirrorCli(['sync', '--prune'], config);
  assert.match(pruned.stdout, 'acme/api-one: deleted on GitHub; mirror deleted (--prune)');
  assert.not.ok(gitea.repos.has('acme/api-one'));
});

test("with whenDeleted: archive, a deleted source's mirror is frozen once (Gitea cannot archive mirrors), then left alone", async () => {
  const config = configFile('archive', { ...ORG_RULE, intervalMinutes: 60, whenDeleted: 'archive' });
  github.removeRepo('acme', 'api-secret');
  const first = await mirrorCli(['sync'], config);
  assert.is(first.code, 0, first.stderr + first.stdout);
  // Gitea answers 422 to archiving a mirror (routers/api/v1/repo/repo.go): it is frozen instead
  assert.match(first.stdout, 'acme/api-secret: deleted on GitHub; mirror frozen (no longer synced)');
  const frozen = gitea.repos.get('acme/api-secret')!;
  assert.equal([frozen.mirrorInterval, frozen.archived], ['0s', false]);
  assert.match(String(frozen.description), 'Deleted on GitHub');
  const from = gitea.requests.length;
  const again = await mirrorCli(['sync'], config);
  assert.match(again.stdout, 'acme/api-secret: deleted on GitHub (mirror frozen); kept (--prune deletes it)');
  assert.equal(
    gitea.requests.slice(from).filter((r) => r.method === 'PATCH'),
    [],
    'not frozen again',
  );
  const full = await mirrorCli(['sync', '--full'], config);
  assert.match(full.stdout, 'acme/api-secret: deleted on GitHub (mirror frozen)', 'read back from Gitea as frozen');
});

test('an overlapping run stops at once with a clear message', async () => {
  const config = configFile('org', ORG_RULE);
  const lock = join(dir, 'cache', 'raibid', 'mirror-sync.lock');
  const held = tryLock(lock);
  if (!('fd' in held)) throw new Error('lock not taken');
  const result = await mirrorCli(['sync'], config);
  held.release();
  assert.is(result.code, 1);
  assert.match(result.stderr, `another mirror sync is running (pid ${process.pid}); this one stops`);
  assert.ok(result.ms < 5000);
});

test('failures are counted, named, and make the exit code non-zero', async () => {
  const config = configFile('missing', { repos: ['acme/api-two', 'acme/no-such-repo'] });
  const result = await mirrorCli(['sync', '--json'], config);
  assert.is(result.code, 1);
  const summary = JSON.parse(result.stdout);
  assert.is(summary.failed, 1);
  assert.ok(
    summary.notes.some((n: string) => n.startsWith('acme/no-such-repo: not found on GitHub')),
    JSON.stringify(summary.notes),
  );
});

test('rate limits are waited out (Retry-After), the run still completes', async () => {
  const config = configFile('org', ORG_RULE);
  pushTo(dir, github, 'acme', 'api-two', 'limited.txt');
  github.limitNext(1, 'secondary', 1);
  const result = await mirrorCli(['sync', '--json'], config);
  assert.is(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  assert.is(summary.github.rateLimited, 1);
  assert.is(summary.synced, 1, 'and did its work');
});

test('a failed sync still advances mirror_updated: the full check finds the mirror behind GitHub by its head and syncs it', async () => {
  const config = configFile('org', ORG_RULE);
  assert.is((await mirrorCli(['sync'], config)).code, 0);
  pushTo(dir, github, 'acme', 'api-two', 'lost.txt');
  gitea.failNextSync('acme/api-two');
  const failed = await mirrorCli(['sync', '--json'], config);
  assert.is(JSON.parse(failed.stdout).synced, 1, 'the sync was asked for');
  const source = join(dir, 'github', 'acme', 'api-two.git');
  assert.is.not(refs(gitea.gitDir('acme', 'api-two')), refs(source), 'and failed in Gitea');
  assert.ok(
    Date.parse(gitea.repos.get('acme/api-two')!.mirrorUpdated) >= Date.parse(github.repos.get('acme/api-two')!.pushedAt),
    'mirror_updated is past pushed_at',
  );
  const full = JSON.parse((await mirrorCli(['sync', '--full', '--json'], config)).stdout);
  assert.equal([full.fullCheck, full.synced], [true, 1]);
  await until(async () => refs(gitea.gitDir('acme', 'api-two')) === refs(source), 'the mirror caught up');
  const again = JSON.parse((await mirrorCli(['sync', '--full', '--json'], config)).stdout);
  assert.is(again.synced, 0, 'at the head: nothing to sync');
});

test('cron install twice leaves one entry; remove takes it out', async () => {
  const bin = join(dir, 'bin');
  const crontab = join(dir, 'crontab.txt');
  mkdirSync(bin, { recursive: true });
  // crontab(1) as the tests may use it: the user's table is a file in the test's folder
  writeFileSync(
    join(bin, 'crontab'),
    `#!/bin/sh\nif [ "$1" = -l ]; then [ -f "${crontab}" ] || { echo "no crontab for test" >&2; exit 1; }; cat "${crontab}"; else cat > "${crontab}"; fi\n`,
  );
  chmodSync(join(bin, 'crontab'), 0o755);
  writeFileSync(crontab, '0 3 * * * /usr/bin/backup\n');
  const config = configFile('org', ORG_RULE);
  const path = { PATH: `${bin}:${process.env.PATH}` };
  for (let i = 0; i < 2; i++) {
    const result = await mirrorCli(['cron', 'install', '--schedule', '*/20 * * * *'], config, path);
    assert.is(result.code, 0, result.stderr);
  }
  const lines = readFileSync(crontab, 'utf8').trim().split('\n');
  assert.is(lines.length, 2, lines.join('\n'));
  assert.is(lines[0], '0 3 * * * /usr/bin/backup');
  assert.match(lines[1]!, /^\*\/20 \* \* \* \* .*mirror sync --config .*org\.yaml >> .*mirror-sync\.log 2>&1 # raibid-task mirror sync$/);
  const bad = await mirrorCli(['cron', 'install', '--schedule', 'every hour'], config, path);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, "'every hour' is not a cron schedule");
  const removed = await mirrorCli(['cron', 'remove'], config, path);
  assert.is(removed.code, 0, removed.stderr);
  assert.is(readFileSync(crontab, 'utf8'), '0 3 * * * /usr/bin/backup\n');
});

test('hooks install creates GitHub push webhooks once, with the secret', async () => {
  const config = join(dir, 'hooks.yaml');
  writeFileSync(
    config,
    stringify({
      gitea: { url: gitea.url },
      github: { apiUrl: github.url },
      webhook: { publicUrl: 'https://ci.example.com' },
      mirror: { ...ORG_RULE, repos: ['octocat/spoon-knife'] },
    }),
  );
  const first = await mirrorCli(['hooks', 'install'], config, { RAIBID_WEBHOOK_SECRET: 'hook-secret' });
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, 'acme: push webhook to https://ci.example.com/hooks/github created');
  assert.match(first.stdout, 'octocat/spoon-knife: push webhook to https://ci.example.com/hooks/github created');
  assert.equal(
    github.hooks.get('acme')!.map((h) => [h.config.url, h.config.secret, h.events]),
    [['https://ci.example.com/hooks/github', 'hook-secret', ['push']]],
  );
  const again = await mirrorCli(['hooks', 'install'], config, { RAIBID_WEBHOOK_SECRET: 'hook-secret' });
  assert.match(again.stdout, 'acme: webhook to https://ci.example.com/hooks/github already there');
  assert.is(github.hooks.get('acme')!.length, 1);
  assert.not.match(first.stdout + again.stdout, 'hook-secret');
  assert.not.ok(existsSync(join(dir, 'nothing')));
  // ours listed after 40 others: past GitHub's first page of 30, still found, not made twice
  const ours = github.hooks.get('acme')!.splice(0);
  for (let i = 0; i < 40; i++)
    github.hooks.get('acme')!.push({ ...ours[0]!, id: 90_000 + i, config: { ...ours[0]!.config, url: `https://other-${i}.example.com/hook` } });
  github.hooks.get('acme')!.push(...ours);
  const paged = await mirrorCli(['hooks', 'install'], config, { RAIBID_WEBHOOK_SECRET: 'hook-secret' });
  assert.is(paged.code, 0, paged.stderr + paged.stdout);
  assert.match(paged.stdout, 'acme: webhook to https://ci.example.com/hooks/github already there');
  assert.is(github.hooks.get('acme')!.length, 41);
});

test('a source renamed on GitHub: its mirror is renamed when the config says so, not created twice', async () => {
  const config = configFile('renames', { ...ORG_RULE, whenRenamed: 'rename' });
  const settle = await mirrorCli(['sync'], config);
  assert.is(settle.code, 0, settle.stderr + settle.stdout);
  github.renameRepo('acme', 'api-two', 'api-two-next');
  const result = await mirrorCli(['sync'], config);
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.match(result.stdout, 'acme/api-two: renamed on GitHub to api-two-next; mirror renamed');
  assert.match(result.stdout, /created 0, synced 1,/);
  assert.ok(gitea.repos.has('acme/api-two-next'));
  assert.not.ok(gitea.repos.has('acme/api-two'));
});

test('a migrate that outlasts its timeout is a migration in progress: not a failure, never a second migrate', async () => {
  sourceRepo(dir, github, 'acme', 'api-huge');
  const config = configFile('slow-migrate', { ...ORG_RULE, migrateTimeoutSeconds: 1 });
  gitea.migrateDelayMs = 2500;
  try {
    const migrates = () => gitea.migrations.filter((m) => m.repo_name === 'api-huge').length;
    const first = await mirrorCli(['sync', '--full'], config);
    assert.is(first.code, 0, first.stderr + first.stdout);
    assert.match(first.stdout, 'acme/api-huge: Gitea still migrating after 1 s (a large repository); the next run finds it');
    assert.match(first.stdout, 'failed 0');
    // Gitea made the repository when the migration began: a run now finds it and migrates nothing
    const again = await mirrorCli(['sync', '--full'], config);
    assert.is(again.code, 0, again.stderr + again.stdout);
    assert.is(migrates(), 1, 'one migrate');
    await new Promise((r) => setTimeout(r, 2000));
    assert.is(refs(gitea.gitDir('acme', 'api-huge')), refs(join(dir, 'github', 'acme', 'api-huge.git')), 'the migration finished');
  } finally {
    gitea.migrateDelayMs = 0;
  }
});

test('a repository added after a full page of 100 that answers 304 is still seen', async () => {
  for (let i = 0; i < 100; i++) github.addRepo({ owner: 'bulk', name: `repo-${String(i).padStart(3, '0')}` });
  const config = configFile('bulk', { orgs: [{ name: 'bulk' }] });
  const names = async () =>
    ((JSON.parse((await mirrorCli(['list', '--json'], config)).stdout) as { repos: { source: string }[] }).repos ?? []).map((r) => r.source);
  assert.is((await names()).length, 100);
  // sorted last, it changes only page 2: page 1 answers 304, and its cached Link had no next
  github.addRepo({ owner: 'bulk', name: 'zz-new' });
  const after = await names();
  assert.is(after.length, 101);
  assert.ok(after.includes('bulk/zz-new'));
});

test.run();
