import { type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { exited, killStragglers, runCli, spawnCli, waitForOutput } from './fixtures/cli.js';
import { passingCrate } from './fixtures/crates.js';
import { commitFiles } from './fixtures/git.js';
import { processAlive, until } from './fixtures/wait.js';

const test = suite('up: the local farm');
const work = mkdtempSync(join(tmpdir(), 'raibid-up-'));
const state = join(work, 'state');
// no config file, no Redis URL: what dispatch and status reach comes from the running farm alone
const env = {
  XDG_STATE_HOME: state,
  XDG_CACHE_HOME: join(work, 'cache'),
  XDG_CONFIG_HOME: join(work, 'config'),
  RAIBID_CONFIG: undefined,
  RAIBID_REDIS_URL: undefined,
  RAIBID_CACHE_DIR: undefined,
};
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...env, ...extra }, cwd: work });
const farmFile = join(state, 'raibid', 'farm.json');
const leftovers: number[] = [];

async function startUp(agents: number): Promise<{ child: ChildProcess; redisPid: number }> {
  const child = spawnCli(['up', '--agents', String(agents), '--port', '0'], { env, cwd: work });
  await waitForOutput(child, /up: redis .* agents?\n/);
  const redis = new Redis(JSON.parse(readFileSync(farmFile, 'utf8')).redisUrl);
  const redisPid = Number((await redis.info('server')).match(/process_id:(\d+)/)![1]);
  redis.disconnect();
  leftovers.push(redisPid);
  return { child, redisPid };
}

async function stopUp(up: { child: ChildProcess; redisPid: number }): Promise<number | null> {
  up.child.kill('SIGINT');
  const code = await exited(up.child);
  await until(async () => !processAlive(up.redisPid), 'redis-server to stop', 5000);
  return code;
}

test.after.each(() => killStragglers());
test.after(() => {
  for (const pid of leftovers) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('up: dispatch, status and logs reach it with no config; Ctrl-C stops it all and the next up goes on with the queue', async () => {
  const repo = join(work, 'project');
  commitFiles(repo, {
    'README.md': 'a project with a crate in a folder\n',
    ...Object.fromEntries(Object.entries(passingCrate('hello')).map(([p, c]) => [`crates/hello/${p}`, c])),
  });
  const quiet = await startUp(0);
  const queued = await cli(['dispatch', '--repo', join(repo, 'crates', 'hello'), '--json']);
  assert.is(queued.code, 0, queued.stderr);
  assert.match(queued.stderr, 'the queue of `raibid-task up`');
  assert.match(queued.stderr, 'crates/hello is a folder of');
  const { id } = JSON.parse(queued.stdout);
  assert.is(await stopUp(quiet), 0, 'a clean stop');
  assert.not.ok(existsSync(farmFile), 'a stopped farm is not offered to the other tasks');
  const nobody = await cli(['status']);
  assert.is(nobody.code, 1, 'no farm: the default Redis, not a stale one');

  const up = await startUp(1);
  const followed = await cli(['logs', id, '--follow']);
  assert.is(followed.code, 0, `the job queued before the restart ran: ${followed.stdout}${followed.stderr}`);
  assert.match(followed.stdout, 'in crates/hello');
  assert.match(followed.stdout, 'test result: ok. 1 passed');
  const status = JSON.parse((await cli(['status', '--json'])).stdout);
  assert.is(status.jobs[0].state, 'succeeded');
  assert.is(status.agents.length, 1);
  assert.is(status.queue.persistence.appendfsync, 'always');
  const listed = await cli(['jobs', 'list']);
  assert.match(listed.stdout, id);
  assert.is(await stopUp(up), 0);
  assert.match(readFileSync(join(state, 'raibid', 'redis', 'redis.conf'), 'utf8'), /^appendfsync always$/m);
});

test('Ctrl-C on up while a job runs: the agent finishes it, then everything stops', async () => {
  const repo = join(work, 'slow');
  commitFiles(repo, { '.raibid.yml': 'steps:\n  - name: wait\n    run: sleep 1.5 && echo finished\n' });
  const up = await startUp(1);
  const follow = spawnCli(['dispatch', '--repo', repo, '--follow'], { env, cwd: work });
  await waitForOutput(follow, /\$ sleep 1.5/);
  up.child.kill('SIGINT');
  assert.match(await waitForOutput(up.child, /up: stopping.*\n/), 'finish 1 job in hand');
  assert.is(await exited(follow), 0, 'the job ended well');
  assert.is(await exited(up.child), 0);
  await until(async () => !processAlive(up.redisPid), 'redis-server to stop', 5000);
});

test('up refuses what it cannot do: no redis-server, a bad --agents, a second up; --dry-run starts nothing; a configured Redis wins; kill -9 leaves nothing running', async () => {
  const bare = join(work, 'bare-bin');
  mkdirSync(bare, { recursive: true });
  const missing = await cli(['up'], { PATH: bare });
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /redis-server not found.*\n.*apt-get install redis-server/);
  const bad = await cli(['up', '--agents', 'lots']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, "--agents 'lots' is not a whole number");
  const dryState = join(work, 'dry-state');
  const dry = await cli(['up', '--dry-run'], { XDG_STATE_HOME: dryState });
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, 'appendfsync always');
  assert.not.ok(existsSync(dryState), 'nothing made');
  const up = await startUp(0);
  const second = await cli(['up']);
  assert.is(second.code, 1);
  assert.match(second.stderr, 'another raibid-task up is running');
  // a configured Redis wins over the farm's
  const elsewhere = await cli(['status'], { RAIBID_REDIS_URL: 'redis://127.0.0.1:1' });
  assert.is(elsewhere.code, 1);
  assert.match(elsewhere.stderr, 'cannot reach Redis at redis://127.0.0.1:1');
  // kill -9: redis-server dies with it, and the farm.json left behind names a dead pid, which no task trusts
  up.child.kill('SIGKILL');
  await until(async () => !processAlive(up.redisPid), 'redis-server to die with up', 5000);
  assert.ok(existsSync(farmFile));
  const stale = await cli(['status']);
  assert.is(stale.code, 1);
  assert.match(stale.stderr, 'cannot reach Redis at redis://127.0.0.1:6379');
});

test.run();
