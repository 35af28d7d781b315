import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { passingCrate } from './fixtures/crates.js';
import { commitFiles } from './fixtures/git.js';
import { makeQueue } from './fixtures/queue.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';

const BUNDLE = fileURLToPath(new URL('../bundle/raibid-pod.cjs', import.meta.url));

const test = suite('the one-file bundle that agent pods run');
/** What it weighed before zod's namespace import let esbuild leave out what pods never use (zx stays out too). */
const MAX_BYTES = 834_363;
let server: RedisServer;

test.before(async () => {
  server = await startRedis();
});
test.after(async () => server.stop());

test('it stays no larger than it was, and holds neither zx nor the Kubernetes client', () => {
  const size = statSync(BUNDLE).size;
  assert.ok(size <= MAX_BYTES, `${size} bytes, more than ${MAX_BYTES}`);
  const text = readFileSync(BUNDLE, 'utf8');
  assert.not.match(text, '"ZX_', "zx (its environment prefix) is the workstation's, not the pods'");
  assert.not.match(text, 'loadFromCluster', 'nor is the Kubernetes client');
});

test('alone in an empty folder, it takes a job from Redis, builds the crate and records the result', async () => {
  assert.ok(existsSync(BUNDLE), 'dist/bundle/raibid-pod.cjs exists: run `npm run bundle`');
  // mkdtemp's folders are 0700: the build user (the agent runs as root here) must reach the cache and the repo
  const pod = mkdtempSync(join(tmpdir(), 'raibid-pod-'));
  chmodSync(pod, 0o755);
  const bundle = join(pod, 'raibid-pod.cjs');
  copyFileSync(BUNDLE, bundle);
  const repo = mkdtempSync(join(tmpdir(), 'raibid-bundle-repo-'));
  chmodSync(repo, 0o755);
  const sha = commitFiles(repo, passingCrate('bundled'));
  const queue = makeQueue(server.client());
  const { id } = await queue.enqueue({ repo, ref: 'main', sha });
  writeFileSync(join(pod, 'raibid.config.yaml'), 'agents:\n  cacheDir: ./cache\n');
  const run = spawnSync(process.execPath, [bundle, 'agent', '--once', '--max-idle', '30'], {
    cwd: pod,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RAIBID_REDIS_URL: server.url, NODE_PATH: '' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, `${id} succeeded`);
  const job = (await queue.get(id))!;
  assert.is(job.state, 'succeeded');
  assert.is(job.result?.sha, sha);
  const log = (await queue.readLog(id)).map((l) => l.line).join('\n');
  assert.match(log, 'test result: ok. 1 passed');
  assert.ok(existsSync(join(pod, 'cache', 'repos')), 'the cache went where the config said');
});

test('the pod spec runs that bundle with the default agent resources', async () => {
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const pod = parse(readFileSync(fileURLToPath(new URL('../../manifests/agent-pod.yaml', import.meta.url)), 'utf8'));
  const agent = pod.spec.containers[0];
  assert.equal(agent.command.slice(0, 4), ['/raibid/node', '/raibid/raibid-pod.cjs', 'agent', '--once']);
  // Ready once it holds a job, which KEDA's pendingPodConditions wait for
  const claimed = agent.command[agent.command.indexOf('--claimed-file') + 1];
  assert.equal(agent.readinessProbe.exec.command, ['test', '-e', claimed]);
  assert.equal(agent.resources.limits, { cpu: '2', memory: '4Gi' });
  assert.match(pod.spec.initContainers[0].command.join(' '), 'raibid-pod.cjs.gz > /raibid/raibid-pod.cjs');
  assert.is(pod.spec.restartPolicy, 'Never');
});

test.run();
