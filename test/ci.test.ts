import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { sccachePath } from '../lib/agent/ci-runner.js';
import { tryLock } from '../lib/lock.js';
import { BUILD_UID } from '../lib/agent/build-user.js';
import { exited, killStragglers, runCli, spawnCli, waitForOutput } from './fixtures/cli.js';
import { failingCrate, passingCrate, slowCrate } from './fixtures/crates.js';
import { type FakeGitea, startFakeGitea } from './fixtures/fake-gitea.js';
import { commitFiles, git } from './fixtures/git.js';
import { makeQueue } from './fixtures/queue.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';
import { processAlive, until } from './fixtures/wait.js';

const test = suite('CI jobs: checkout, pipeline, cache, commit status (real git and cargo)');
let server: RedisServer;
let redis: Redis;
let gitea: FakeGitea;
let work: string;
const leftovers: number[] = [];

/** A folder others may enter and read, as a cache or a repository the build user reaches is (mkdtemp's are 0700). */
const open = (dir: string) => {
  chmodSync(dir, 0o755);
  return dir;
};

function setup(): NodeJS.ProcessEnv {
  const dir = open(mkdtempSync(join(work, 'env-')));
  const config = join(dir, 'raibid.yaml');
  writeFileSync(config, `redis:\n  url: ${server.url}\ngitea:\n  url: ${gitea.url}\nqueue:\n  retryBackoffSeconds: 0.1\n`);
  return { RAIBID_CONFIG: config, RAIBID_REDIS_URL: undefined, RAIBID_CACHE_DIR: join(dir, 'cache'), GITEA_TOKEN: undefined };
}

function repo(files: Record<string, string>, name = 'repo'): { path: string; sha: string } {
  const path = open(mkdtempSync(join(work, `${name}-`)));
  return { path, sha: commitFiles(path, files, 'first') };
}

async function dispatch(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const result = await runCli(['dispatch', '--json', ...args], { env });
  assert.is(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).id;
}

async function jobJson(id: string, env: NodeJS.ProcessEnv) {
  return JSON.parse((await runCli(['jobs', 'show', id, '--json'], { env })).stdout);
}

test.before(async () => {
  server = await startRedis();
  redis = server.client();
  gitea = await startFakeGitea();
  work = open(mkdtempSync(join(tmpdir(), 'raibid-ci-')));
});
test.after.each(() => killStragglers());
test.after(async () => {
  for (const pid of leftovers) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  await gitea.close();
  await server.stop();
});
test.before.each(async () => {
  await redis.flushall();
});

test('a passing crate: dispatch, agent --once, then status and logs show it built and tested', async () => {
  const env = setup();
  const { path, sha } = repo(passingCrate());
  const id = await dispatch(env, '--repo', path, '--ref', 'main');
  const agent = await runCli(['agent', '--once'], { env });
  assert.is(agent.code, 0, agent.stderr);
  assert.match(agent.stdout, `${id} succeeded (exit 0)`);
  const job = await jobJson(id, env);
  assert.is(job.state, 'succeeded');
  assert.is(job.result.sha, sha);
  assert.equal(
    job.result.steps.map((s: { name: string }) => s.name),
    ['cargo fetch', 'cargo build', 'cargo test'],
  );
  for (const step of job.result.steps) assert.ok(step.durationMs >= 0 && step.exitCode === 0);
  const logs = (await runCli(['logs', id], { env })).stdout;
  assert.match(logs, `checked out ${path} at ${sha}`);
  assert.match(logs, /\[cargo test\] test tests::adds_two_numbers \.\.\. ok/);
  assert.match(logs, '[cargo test] test result: ok. 1 passed');
  const status = JSON.parse((await runCli(['status', '--json'], { env })).stdout);
  assert.is(status.jobs[0].state, 'succeeded');
});

test('a failing test fails the job at cargo test, with the test named in the log, and is not retried', async () => {
  const env = setup();
  const { path } = repo(failingCrate());
  const id = await dispatch(env, '--repo', path);
  await runCli(['agent', '--once'], { env });
  const job = await jobJson(id, env);
  assert.equal([job.state, job.failedStep, job.exitCode, job.attempt], ['failed', 'cargo test', 101, 1]);
  const logs = (await runCli(['logs', id], { env })).stdout;
  assert.match(logs, 'it_fails_on_purpose');
  assert.match(logs, 'arithmetic');
});

test('a job over its time limit mid-build fails and leaves no process behind', async () => {
  const env = setup();
  const pidfile = join(work, `timeout-${Date.now()}`);
  const { path } = repo(slowCrate(pidfile));
  const id = await dispatch(env, '--repo', path);
  const agent = await runCli(['agent', '--once', '--timeout', '4'], { env });
  assert.is(agent.code, 0, agent.stderr);
  const job = await jobJson(id, env);
  assert.equal([job.state, job.error, job.failedStep], ['failed', 'timed out after 4 s', 'cargo build']);
  assert.ok(existsSync(pidfile), 'the build script had started');
  const buildScript = Number(readFileSync(pidfile, 'utf8'));
  leftovers.push(buildScript);
  await until(async () => !processAlive(buildScript), 'the build script to be killed', 5000);
});

test('cancelling a job mid-build kills cargo and its build script; the agent carries on', async () => {
  const env = setup();
  const pidfile = join(work, `cancel-${Date.now()}`);
  const { path } = repo(slowCrate(pidfile));
  const agent = spawnCli(['agent'], { env });
  await waitForOutput(agent, /waiting for jobs/);
  const id = await dispatch(env, '--repo', path);
  await until(async () => existsSync(pidfile) && readFileSync(pidfile, 'utf8').length > 0, 'the build script to start', 30_000);
  const buildScript = Number(readFileSync(pidfile, 'utf8'));
  leftovers.push(buildScript);
  assert.is((await runCli(['jobs', 'cancel', id], { env })).code, 0);
  await until(async () => (await jobJson(id, env)).state === 'cancelled', 'the job to be cancelled', 10_000);
  await until(async () => !processAlive(buildScript), 'the build script to be killed', 5000);
  const { path: next } = repo(passingCrate('after_cancel'));
  const nextId = await dispatch(env, '--repo', next);
  await until(async () => (await jobJson(nextId, env)).state === 'succeeded', 'the next job', 60_000);
  agent.kill('SIGTERM');
  assert.is(await exited(agent), 0);
});

test('two agents build the same repo at once in separate cache slots; the next build is warm', async () => {
  const env = setup();
  const { path } = repo(passingCrate('shared'));
  git(path, 'branch', 'other');
  const first = await dispatch(env, '--repo', path, '--ref', 'main');
  const second = await dispatch(env, '--repo', path, '--ref', 'other');
  const [a, b] = await Promise.all([runCli(['agent', '--once'], { env }), runCli(['agent', '--once'], { env })]);
  assert.equal([a.code, b.code], [0, 0], a.stderr + b.stderr);
  const jobs = [await jobJson(first, env), await jobJson(second, env)];
  assert.equal(
    jobs.map((j) => j.state),
    ['succeeded', 'succeeded'],
  );
  assert.equal(jobs.map((j) => j.result.cache.slot).sort(), [0, 1]);
  assert.equal(
    jobs.map((j) => j.result.cache.warm),
    [false, false],
  );
  const third = await dispatch(env, '--repo', path, '--ref', 'main');
  await runCli(['agent', '--once'], { env });
  const warm = await jobJson(third, env);
  assert.is(warm.state, 'succeeded');
  assert.is(warm.result.cache.warm, true);
  const logs = (await runCli(['logs', third], { env })).stdout;
  assert.match(logs, 'warm cache');
  assert.not.match(logs, 'Compiling shared', 'nothing recompiled');
});

test('.raibid.yml steps replace the default pipeline; a malformed one fails the job clearly', async () => {
  const env = setup();
  const { path } = repo({
    '.raibid.yml':
      'env:\n  GREETING: hello\nsteps:\n  - name: greet\n    run: echo "$GREETING $WHO"\n    env:\n      WHO: world\n  - name: check\n    run: test -f .raibid.yml\n',
  });
  const id = await dispatch(env, '--repo', path);
  await runCli(['agent', '--once'], { env });
  const job = await jobJson(id, env);
  assert.is(job.state, 'succeeded');
  assert.equal(
    job.result.steps.map((s: { name: string }) => s.name),
    ['greet', 'check'],
  );
  assert.is(job.result.pipeline, '.raibid.yml');
  assert.match((await runCli(['logs', id], { env })).stdout, '[greet] hello world');

  const { path: broken } = repo({ '.raibid.yml': 'steps:\n  - name: build\n    command: make\n' }, 'broken');
  const bad = await dispatch(env, '--repo', broken);
  await runCli(['agent', '--once'], { env });
  const failed = await jobJson(bad, env);
  assert.equal([failed.state, failed.failedStep, failed.attempt], ['failed', '.raibid.yml', 1]);
  assert.match(failed.error, '.raibid.yml: steps.0.command: unknown key');
});

test('an agent killed with -9 mid-build takes its build with it: no orphan keeps running, the slot is free again', async () => {
  const env = setup();
  const pidfile = join(work, `orphan-${Date.now()}`);
  const { path } = repo({ '.raibid.yml': `steps:\n  - name: spawn\n    run: sleep 60 & echo $! > ${pidfile}; wait\n` });
  await dispatch(env, '--repo', path);
  const agent = spawnCli(['agent'], { env });
  await until(async () => existsSync(pidfile) && readFileSync(pidfile, 'utf8').trim().length > 0, 'the build to start', 30_000);
  const grandchild = Number(readFileSync(pidfile, 'utf8'));
  leftovers.push(grandchild);
  agent.kill('SIGKILL');
  await exited(agent);
  await until(async () => !processAlive(grandchild), 'the build to die with its agent', 5000);
  const slots = readdirSync(join(env.RAIBID_CACHE_DIR!, 'repos')).map((repoDir) => join(env.RAIBID_CACHE_DIR!, 'repos', repoDir, 'slot-0.lock'));
  const lock = tryLock(slots[0]!);
  assert.ok('fd' in lock, 'its build slot can be leased again');
  if ('fd' in lock) lock.release();
});

test("job code finds no secret: not in its environment, not in the agent's /proc, not in secrets.env; it runs as the build user", async () => {
  const env = setup();
  // the agent pods' setting; the config names Redis: kept from others, as a root agent's config under /root is
  writeFileSync(env.RAIBID_CONFIG!, `${readFileSync(env.RAIBID_CONFIG!, 'utf8')}agents:\n  buildUid: ${BUILD_UID}\n`, { mode: 0o600 });
  chmodSync(env.RAIBID_CONFIG!, 0o600);
  const secrets = {
    GITEA_TOKEN: 'gitea-token-c0ffee',
    GITHUB_TOKEN: 'ghp_secret_b0a7',
    RAIBID_WEBHOOK_SECRET: 'webhook-secret-f00d',
    RAIBID_REDIS_PASSWORD: 'redis-pw-d00d',
    CARGO_REGISTRY_TOKEN: 'cargo-token-beef',
  };
  const config = open(mkdtempSync(join(work, 'xdg-')));
  mkdirSync(join(config, 'raibid'), { mode: 0o700 });
  const secretsFile = join(config, 'raibid', 'secrets.env');
  writeFileSync(secretsFile, 'GITHUB_TOKEN=ghp_from_the_file_5eed\n', { mode: 0o600 });
  const tries = [
    'id -u',
    'env | sort',
    "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done 2>/dev/null || true",
    `cat ${secretsFile} 2>&1 || true`,
    `cat ${env.RAIBID_CONFIG} 2>&1 || true`,
    'cat /run/raibid-secrets/* 2>&1 || true',
  ];
  const { path } = repo({ '.raibid.yml': `steps:\n${tries.map((run, i) => `  - name: try${i}\n    run: ${JSON.stringify(run)}\n`).join('')}` });
  const id = await dispatch(env, '--repo', path);
  const agent = await runCli(['agent', '--once'], { env: { ...env, ...secrets, XDG_CONFIG_HOME: config, LANG: 'C.UTF-8' } });
  assert.is(agent.code, 0, agent.stderr);
  const job = await jobJson(id, env);
  assert.is(job.state, 'succeeded', job.error);
  const logs = (await runCli(['logs', id], { env })).stdout;
  for (const [name, value] of Object.entries({ ...secrets, fromFile: 'ghp_from_the_file_5eed', redis: server.url }))
    assert.not.match(logs, value, `${name} reached the job`);
  for (const name of Object.keys(secrets)) assert.not.match(logs, `${name}=`);
  assert.match(logs, `[try0] ${BUILD_UID}`);
  for (const kept of ['PATH=', 'LANG=C.UTF-8', `RAIBID_JOB_ID=${id}`, `RAIBID_REPO=${path}`, 'CARGO_HOME=', 'CARGO_TARGET_DIR='])
    assert.match(logs, `[try1] ${kept}`);
});

test('a step over its .raibid.yml timeout fails the job at that step', async () => {
  const env = setup();
  const { path } = repo({
    '.raibid.yml':
      'steps:\n  - name: quick\n    run: echo fine\n  - name: stuck\n    run: sleep 30\n    timeout: 1\n  - name: never\n    run: echo unreachable\n',
  });
  const id = await dispatch(env, '--repo', path);
  const started = Date.now();
  await runCli(['agent', '--once'], { env });
  assert.ok(Date.now() - started < 15_000, 'stopped at the step timeout, not after the sleep');
  const job = await jobJson(id, env);
  assert.equal([job.state, job.failedStep, job.exitCode, job.error], ['failed', 'stuck', 124, 'stuck timed out (1 s step timeout)']);
  assert.equal(
    job.result.steps.map((s: { name: string }) => s.name),
    ['quick', 'stuck'],
  );
  assert.not.match((await runCli(['logs', id], { env })).stdout, 'unreachable');
});

test('a repo URL or path with shell metacharacters never executes anything', async () => {
  const env = setup();
  const canary = join(work, `pwned-${Date.now()}`);
  const url = `file://${work}/$(touch$${'{IFS}'}${canary})`;
  const id = await dispatch(env, '--repo', url);
  await runCli(['agent', '--once'], { env });
  const job = await jobJson(id, env);
  assert.equal([job.state, job.failedStep, job.attempt], ['failed', 'checkout', 1], 'a missing repository is not retried');
  const odd = join(work, `odd;touch ${canary};$(touch ${canary})`);
  commitFiles(odd, passingCrate('odd'));
  const oddId = await dispatch(env, '--repo', odd);
  await runCli(['agent', '--once'], { env });
  assert.is((await jobJson(oddId, env)).state, 'succeeded');
  assert.is(existsSync(canary), false);
});

test('commit statuses come from serve, not the agent: pending, then success or failure, also for jobs that ran while serve was down', async () => {
  const env = setup();
  const queue = makeQueue(redis);
  const good = repo(passingCrate('status_ok'));
  const bad = repo(failingCrate('status_bad'));
  const plain = repo(passingCrate('no_status'));
  await queue.enqueue({ repo: good.path, ref: 'main', sha: good.sha, meta: { 'gitea.repo': 'mirrors/good' } });
  await queue.enqueue({ repo: plain.path, ref: 'main', sha: plain.sha });
  await queue.enqueue({ repo: bad.path, ref: 'main', sha: bad.sha, meta: { 'gitea.repo': 'mirrors/bad' } });
  for (let i = 0; i < 3; i++) assert.is((await runCli(['agent', '--once'], { env })).code, 0);
  assert.is(gitea.statuses.size, 0, 'the agent, holding no Gitea token, sets none');
  const serve = spawnCli(['serve', '--port', '0'], { env: { ...env, GITEA_TOKEN: gitea.token, RAIBID_WEBHOOK_SECRET: 'status-test' } });
  await waitForOutput(serve, /listening/);
  const states = (key: string) => (gitea.statuses.get(key) ?? []).map((s) => `${s.context}:${s.state}`);
  await until(async () => states(`mirrors/bad@${bad.sha}`).length === 3, "the failed job's statuses");
  serve.kill('SIGTERM');
  await exited(serve);
  assert.equal(states(`mirrors/good@${good.sha}`), ['raibid/ci:pending', 'raibid/ci:pending', 'raibid/ci:success']);
  assert.equal(states(`mirrors/bad@${bad.sha}`), ['raibid/ci:pending', 'raibid/ci:pending', 'raibid/ci:failure']);
  assert.match(gitea.statuses.get(`mirrors/bad@${bad.sha}`)![2]!.description, 'cargo test exited with 101');
  assert.is(gitea.statuses.size, 2, 'a job not from Gitea sets no status');
});

test('sccache, when installed, is used and its hit rate recorded: a rebuild from a lost cache hits', async () => {
  const env = setup();
  const { path } = repo(passingCrate('sccached'));
  const first = await dispatch(env, '--repo', path);
  await runCli(['agent', '--once'], { env });
  assert.is((await jobJson(first, env)).state, 'succeeded');
  rmSync(join(env.RAIBID_CACHE_DIR!, 'repos'), { recursive: true, force: true });
  const second = await dispatch(env, '--repo', path, '--ref', 'HEAD');
  await runCli(['agent', '--once'], { env });
  const job = await jobJson(second, env);
  assert.is(job.state, 'succeeded');
  assert.is(job.result.cache.warm, false, 'the target dir was gone');
  if (sccachePath(process.env)) {
    assert.ok(job.result.cache.sccache.hits >= 1, JSON.stringify(job.result.cache));
    assert.ok(job.result.cache.sccache.hitRate > 0);
  } else {
    assert.is(job.result.cache.sccache, undefined, 'nothing recorded without sccache');
  }
});

test("run: a checkout passes with exit 0, fails with the failing step's code; bad .raibid.yml exits 2", async () => {
  const env = setup();
  const good = repo(passingCrate('run_ok'));
  const passed = await runCli(['run', good.path], { env });
  assert.is(passed.code, 0, passed.stderr);
  assert.match(passed.stdout, 'test result: ok');
  assert.match(passed.stdout, 'passed: 3 steps');
  const bad = repo(failingCrate('run_bad'));
  const failed = await runCli(['run', bad.path, '--ref', 'main'], { env });
  assert.is(failed.code, 101);
  assert.match(failed.stdout, 'failed: cargo test exited with 101');
  writeFileSync(join(good.path, '.raibid.yml'), 'steps: []\n');
  const malformed = await runCli(['run', good.path], { env });
  assert.is(malformed.code, 2);
  assert.match(malformed.stderr, '.raibid.yml: steps: ');
  writeFileSync(join(good.path, '.raibid.yml'), 'steps:\n  - name: lint\n    run: echo uncommitted works\n');
  const dry = await runCli(['run', good.path, '--dry-run'], { env });
  assert.is(dry.stdout.trim(), 'lint: echo uncommitted works');
  const live = await runCli(['run', good.path], { env });
  assert.match(live.stdout, '[lint] uncommitted works');
  const missing = await runCli(['run', join(work, 'nowhere')], { env });
  assert.is(missing.code, 2);
});

test.run();
