import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { type CliResult, collect, killStragglers, spawnCli, spawnNode } from './fixtures/cli.js';
import { failingCrate, passingCrate } from './fixtures/crates.js';
import { type FakeGitea, startFakeGitea, startFakeGiteaOn } from './fixtures/fake-gitea.js';
import { type FakeGitHub, startFakeGitHub } from './fixtures/fake-github.js';
import { type FakeKube, startFakeKube } from './fixtures/fake-kube.js';
import { commitFiles } from './fixtures/git.js';
import { sourceRepo } from './fixtures/github-repo.js';
import { writeKubeconfig } from './fixtures/kubeconfig.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';

const test = suite('examples/*.mjs run by zx against a real Redis, a real agent and the fakes');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ZX = join(ROOT, 'node_modules/zx/build/cli.js');
let dir: string;
let redis: RedisServer;
let github: FakeGitHub;

/** What the build user (steps run as it under root) may enter and read. */
const open = (path: string) => (chmodSync(path, 0o755), path);

const zx = (script: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> =>
  collect(spawnNode([ZX, join(ROOT, 'examples', script), ...args], { cwd: dir, env }));

function farmEnv(name: string, config: Record<string, unknown>, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = open(mkdtempSync(join(dir, `${name}-`)));
  const file = join(home, 'raibid.yaml');
  writeFileSync(file, stringify({ redis: { url: redis.url }, ...config }));
  return {
    RAIBID_CONFIG: file,
    RAIBID_CACHE_DIR: join(home, 'cache'),
    XDG_CACHE_HOME: join(home, 'xdg-cache'),
    XDG_CONFIG_HOME: join(home, 'config'),
    RAIBID_REDIS_URL: '',
    GITEA_TOKEN: '',
    GITHUB_TOKEN: '',
    ...extra,
  };
}

/** An agent on this machine for the jobs the example queues; stopped by killStragglers. */
function agent(env: NodeJS.ProcessEnv): void {
  spawnCli(['agent'], { env });
}

test.before(async () => {
  dir = open(mkdtempSync(join(tmpdir(), 'raibid-examples-')));
  [redis, github] = await Promise.all([startRedis(), startFakeGitHub()]);
  sourceRepo(dir, github, 'acme', 'api-good', { files: passingCrate('good') });
  sourceRepo(dir, github, 'acme', 'api-bad', { files: failingCrate('bad') });
});
test.after.each(() => killStragglers());
test.after(async () => {
  await Promise.all([redis.stop(), github.close()]);
  rmSync(dir, { recursive: true, force: true });
});

test('nightly.mjs: syncs the mirrors, builds what changed in Gitea, reports the failure, exit 1', async () => {
  const gitea: FakeGitea = await startFakeGitea();
  try {
    const env = farmEnv(
      'nightly',
      { gitea: { url: gitea.url }, github: { apiUrl: github.url }, mirror: { orgs: [{ name: 'acme', include: '^api-' }] } },
      { GITEA_TOKEN: gitea.token, GITHUB_TOKEN: github.token },
    );
    // the agent fetches from Gitea (sign-in required to read) with the read-only token
    agent({ ...env, GITEA_TOKEN: '', GITEA_READ_TOKEN: gitea.token });
    const run = await zx('nightly.mjs', ['--timeout', '3'], env);
    assert.is(run.code, 1, run.stderr + run.stdout);
    assert.match(run.stdout, '1 of 2 builds failed');
    assert.match(run.stdout, 'mirrors: created 2, synced 0, unchanged 0, failed 0');
    assert.match(run.stdout, /acme\/api-good: succeeded \(job \S+\)/);
    assert.match(run.stdout, /acme\/api-bad: failed \(job \S+\): cargo test exited with 101/);
    assert.equal([...gitea.repos.keys()].sort(), ['acme/api-bad', 'acme/api-good'], 'both mirrored before they were built');

    const again = await zx('nightly.mjs', [], env);
    assert.is(again.code, 0, again.stderr + again.stdout);
    assert.match(again.stdout, '0 of 0 builds failed');
    assert.match(again.stdout, 'mirrors: created 0, synced 0, unchanged 2, failed 0');
  } finally {
    await gitea.close();
  }
});

test('bootstrap-smoke.mjs: bootstraps the platform, then a smoke build it waits for, log lines printed', async () => {
  const kube: FakeKube = await startFakeKube();
  const gitea = await startFakeGiteaOn(kube);
  try {
    const env = farmEnv('smoke', { gitea: { url: gitea.url }, platform: { timeoutSeconds: 10, pollSeconds: 0.05 } });
    const crate = open(mkdtempSync(join(dir, 'smoke-crate-')));
    commitFiles(crate, passingCrate('smoke'), 'first');
    agent(env);
    const run = await zx('bootstrap-smoke.mjs', ['--stages', 'platform,gitea,flux,agents', '--kubeconfig', writeKubeconfig(dir, kube), '--repo', crate], env);
    assert.is(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /^platform: /m);
    assert.match(run.stdout, /^agents: /m);
    assert.ok(
      kube.store.all().some((o) => o.kind === 'ScaledJob'),
      'the agents stage applied the ScaledJob',
    );
    assert.match(run.stdout, /smoke build \S+ queued/);
    assert.match(run.stdout, 'test tests::adds_two_numbers ... ok', 'the log as it ran');
    assert.match(run.stdout, /smoke build \S+: succeeded/);
  } finally {
    await Promise.all([kube.close(), gitea.close()]);
  }
});

test.run();
