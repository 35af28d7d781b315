import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { CLI, exited, killStragglers, runCli, spawnCli, waitForOutput } from './fixtures/cli.js';
import { commitFiles } from './fixtures/git.js';
import { makeQueue } from './fixtures/queue.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';
import { processAlive, until } from './fixtures/wait.js';

const test = suite('agent and the job tasks, end to end');
let server: RedisServer;
let redis: Redis;
let work: string;
const leftovers: number[] = [];

function setup(queueSettings = ''): { config: string; env: NodeJS.ProcessEnv } {
  const config = join(work, `raibid-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(config, `redis:\n  url: ${server.url}\nqueue:\n  retryBackoffSeconds: 0.1\n${queueSettings}`);
  return { config, env: { RAIBID_CONFIG: config, RAIBID_REDIS_URL: undefined, HOME: work } };
}

async function jobJson(id: string, env: NodeJS.ProcessEnv) {
  const shown = await runCli(['jobs', 'show', id, '--json'], { env });
  assert.is(shown.code, 0, shown.stderr);
  return JSON.parse(shown.stdout);
}

test.before(async () => {
  server = await startRedis();
  redis = server.client();
  work = mkdtempSync(join(tmpdir(), 'raibid-agent-'));
  commitFiles(work, { 'README.md': 'built by the --exec jobs\n' });
});
test.after.each(() => killStragglers());
test.after(async () => {
  for (const pid of leftovers) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  await server.stop();
});
test.before.each(async () => {
  await redis.flushall();
});

test('--claimed-file appears once the agent holds a job (what the agent pod turns Ready on), not while it waits', async () => {
  const { env } = setup();
  const claimed = join(work, 'claimed');
  const idle = await runCli(['agent', '--max-idle', '0.5', '--claimed-file', claimed], { env });
  assert.is(idle.code, 0, idle.stderr);
  assert.not.ok(existsSync(claimed), 'no job, not Ready');
  const { id } = JSON.parse((await runCli(['dispatch', '--repo', work, '--ref', 'main', '--json'], { env })).stdout);
  // the job itself checks that the file is there while it runs
  const agent = await runCli(['agent', '--once', '--claimed-file', claimed, '--exec', `test "$(cat ${claimed})" = "$RAIBID_JOB_ID"`], { env });
  assert.is(agent.code, 0, agent.stderr);
  assert.match(agent.stdout, `${id} succeeded (exit 0)`);
});

test('dispatch → agent --once → status and logs show the result', async () => {
  const { env } = setup();
  const dispatched = await runCli(['dispatch', '--repo', work, '--ref', 'main', '--json'], { env });
  assert.is(dispatched.code, 0, dispatched.stderr);
  const { id, created } = JSON.parse(dispatched.stdout);
  assert.ok(created);
  const again = await runCli(['dispatch', '--repo', work, '--ref', 'main'], { env });
  assert.is(again.stdout.trim(), id, 'the same repo and ref while queued');
  assert.match(again.stderr, 'already queued or running');
  const agent = await runCli(['agent', '--once', '--exec', 'echo "building $RAIBID_REPO at $RAIBID_REF"; echo warning >&2'], { env });
  assert.is(agent.code, 0, agent.stderr);
  assert.match(agent.stdout, `${id} succeeded (exit 0)`);
  const status = await runCli(['status', '--json'], { env });
  const snap = JSON.parse(status.stdout);
  assert.is(snap.jobs[0].id, id);
  assert.is(snap.jobs[0].state, 'succeeded');
  assert.is(snap.jobs[0].attempt, 1);
  assert.equal([snap.queue.length, snap.queue.lag, snap.queue.pending, snap.queue.dead], [0, 0, 0, 0]);
  const logs = await runCli(['logs', id], { env });
  assert.is(logs.code, 0);
  assert.match(logs.stdout, `[command] building ${work} at main`);
  assert.match(logs.stdout, '[command] warning');
  const plain = await runCli(['status'], { env });
  assert.match(plain.stdout, new RegExp(`${id}\\s+\\S+\\s+main\\s+succeeded\\s+1/3`));
  assert.not.match(plain.stdout, '\x1b[', 'no colour when not a terminal');
});

test('status --json matches the queue: length, lag, pending, dead and jobs', async () => {
  const { env } = setup('  maxAttempts: 1\n');
  const queue = makeQueue(redis, { maxAttempts: 1 });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await queue.enqueue({ repo: 'https://git.example/o/r.git', ref: `b${i}` })).id);
  const started = await queue.claimNext('agent-x');
  assert.is(started?.verdict, 'run');
  const second = await queue.claimNext('agent-x');
  if (second?.verdict === 'run') await queue.complete(second.claim, { state: 'failed', exitCode: 75, retry: true });
  const snap = JSON.parse((await runCli(['status', '--json', '--jobs', '10'], { env })).stdout);
  assert.is(snap.queue.stream, 'raibid:jobs');
  assert.is(snap.queue.group, 'raibid-agents');
  assert.is(snap.queue.lag, 3, 'three never picked up');
  assert.is(snap.queue.pending, 1, 'one running');
  assert.is(snap.queue.dead, 1, 'one out of attempts');
  assert.is(snap.queue.length, 4, 'waiting plus running');
  assert.is(snap.queue.streamLength, await redis.xlen('raibid:jobs'));
  const states = Object.fromEntries(snap.jobs.map((j: { id: string; state: string }) => [j.id, j.state]));
  assert.equal(states, { [ids[0]!]: 'running', [ids[1]!]: 'dead', [ids[2]!]: 'queued', [ids[3]!]: 'queued', [ids[4]!]: 'queued' });
  for (const job of snap.jobs) for (const key of ['id', 'repo', 'ref', 'state', 'attempt']) assert.ok(key in job, key);
});

test('a worker killed with -9 mid-job: another finishes it, and it is recorded once', async () => {
  const { env } = setup('  visibilityTimeoutSeconds: 5\n');
  const runs = join(work, 'runs');
  const mark = join(work, 'first-run');
  const command = `echo $$ >> ${runs}; if [ -e ${mark} ]; then echo second run; exit 0; fi; touch ${mark}; exec sleep 30`;
  const { id } = JSON.parse((await runCli(['dispatch', '--repo', 'https://git.example/o/r.git', '--json'], { env })).stdout);
  const victim = spawnCli(['agent', '--exec', command], { env });
  await until(async () => existsSync(mark), 'the first run to start');
  leftovers.push(Number(readFileSync(runs, 'utf8').trim()));
  victim.kill('SIGKILL');
  await exited(victim);
  assert.is((await jobJson(id, env)).state, 'running', 'the dead agent still holds it');
  const rescuer = await runCli(['agent', '--once', '--exec', command], { env });
  assert.is(rescuer.code, 0, rescuer.stderr);
  const job = await jobJson(id, env);
  assert.is(job.state, 'succeeded');
  assert.is(job.attempt, 2);
  const snap = JSON.parse((await runCli(['status', '--json'], { env })).stdout);
  assert.equal(snap.queue.totals, { succeeded: 1 });
  assert.equal([snap.queue.pending, snap.queue.lag], [0, 0]);
  assert.is(readFileSync(runs, 'utf8').trim().split('\n').length, 2);
  assert.match((await runCli(['logs', id], { env })).stdout, 'second run');
});

test('cancel a running job: its process tree is killed and the agent goes on to the next', async () => {
  const { env } = setup();
  const pids = join(work, `pids-${Date.now()}`);
  const command = `if [ "$RAIBID_REF" = slow ]; then sleep 30 & echo $! > ${pids}; wait; else echo quick; fi`;
  const agent = spawnCli(['agent', '--exec', command], { env });
  await waitForOutput(agent, /waiting for jobs/);
  const slow = JSON.parse((await runCli(['dispatch', '--repo', 'https://git.example/o/r.git', '--ref', 'slow', '--json'], { env })).stdout).id;
  await until(async () => existsSync(pids) && readFileSync(pids, 'utf8').trim(), 'the build to start');
  const grandchild = Number(readFileSync(pids, 'utf8'));
  leftovers.push(grandchild);
  const dry = await runCli(['jobs', 'cancel', slow, '--dry-run'], { env });
  assert.match(dry.stdout, `would cancel job ${slow} (running)`);
  assert.is((await jobJson(slow, env)).cancelRequested, false, 'dry run changed nothing');
  const cancel = await runCli(['jobs', 'cancel', slow], { env });
  assert.is(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, 'its agent was told to stop');
  await until(async () => (await jobJson(slow, env)).state === 'cancelled', 'the job to be cancelled', 5000);
  await until(async () => !processAlive(grandchild), 'the background sleep to die', 5000);
  const quick = JSON.parse((await runCli(['dispatch', '--repo', 'https://git.example/o/r.git', '--ref', 'quick', '--json'], { env })).stdout).id;
  await until(async () => (await jobJson(quick, env)).state === 'succeeded', 'the next job to run', 5000);
  agent.kill('SIGTERM');
  assert.is(await exited(agent), 0, 'SIGTERM stops the agent cleanly');
  const finished = await runCli(['jobs', 'cancel', quick], { env });
  assert.is(finished.code, 2);
  assert.match(finished.stderr, `job ${quick} is succeeded: nothing to cancel`);
});

test('a job over its time limit fails and leaves nothing running', async () => {
  const { env } = setup();
  const pids = join(work, `timeout-${Date.now()}`);
  const { id } = JSON.parse((await runCli(['dispatch', '--repo', 'https://git.example/o/r.git', '--json'], { env })).stdout);
  const agent = await runCli(['agent', '--once', '--timeout', '1', '--exec', `sleep 30 & echo $! > ${pids}; wait`], { env });
  assert.is(agent.code, 0);
  const job = await jobJson(id, env);
  assert.is(job.state, 'failed');
  assert.is(job.error, 'timed out after 1 s');
  const grandchild = Number(readFileSync(pids, 'utf8'));
  leftovers.push(grandchild);
  await until(async () => !processAlive(grandchild), 'the sleep to be killed', 5000);
});

test('exit 75 is retried with backoff until the attempts run out, then dead-lettered', async () => {
  const { env } = setup('  maxAttempts: 2\n');
  const { id } = JSON.parse((await runCli(['dispatch', '--repo', 'https://git.example/o/r.git', '--json'], { env })).stdout);
  const agent = await runCli(['agent', '--max-idle', '1', '--exec', 'echo "attempt $RAIBID_ATTEMPT"; exit 75'], { env });
  assert.is(agent.code, 0, agent.stderr);
  const job = await jobJson(id, env);
  assert.is(job.state, 'dead');
  assert.is(job.attempt, 2);
  const log = (await runCli(['logs', id], { env })).stdout;
  assert.match(log, 'attempt 1');
  assert.match(log, 'attempt 2');
  assert.match(log, /attempt 2 waits \d+ ms before retrying/);
  const snap = JSON.parse((await runCli(['status', '--json'], { env })).stdout);
  assert.equal([snap.queue.dead, snap.queue.totals.retried, snap.queue.totals.dead], [1, 1, 1]);
  const retry = await runCli(['jobs', 'retry', id], { env });
  assert.is(retry.code, 0);
  assert.is((await jobJson(id, env)).state, 'queued');
});

test('job fields with shell metacharacters reach the command as data, never as code', async () => {
  const { env } = setup();
  const canary = join(work, 'pwned');
  const repo = `https://git.example/o/$(touch${'${IFS}'}${canary}).git`;
  const dispatched = await runCli(['dispatch', '--repo', repo, '--ref', 'main', '--json'], { env });
  assert.is(dispatched.code, 0, dispatched.stderr);
  const { id } = JSON.parse(dispatched.stdout);
  await runCli(['agent', '--once', '--exec', 'echo "repo=$RAIBID_REPO"'], { env });
  assert.is(existsSync(canary), false);
  assert.match((await runCli(['logs', id], { env })).stdout, `repo=${repo}`);
});

test('dry runs and unknown ids change nothing', async () => {
  const { env } = setup();
  const dry = await runCli(['dispatch', '--repo', 'https://git.example/o/r.git', '--dry-run'], { env });
  assert.is(dry.code, 0);
  assert.match(dry.stdout, 'would queue https://git.example/o/r.git at HEAD');
  assert.is((await makeQueue(redis).stats()).length, 0);
  for (const args of [
    ['jobs', 'show', 'nope'],
    ['jobs', 'cancel', 'nope'],
    ['jobs', 'retry', 'nope'],
    ['logs', 'nope'],
  ]) {
    const result = await runCli(args, { env });
    assert.is(result.code, 2, args.join(' '));
    assert.match(result.stderr, "no job with id 'nope'");
    assert.match(result.stderr, 'raibid-task jobs list');
  }
});

test('logs --follow streams a running job and exits with its outcome', async () => {
  const { env } = setup();
  const { id } = JSON.parse((await runCli(['dispatch', '--repo', 'https://git.example/o/r.git', '--json'], { env })).stdout);
  const follow = spawnCli(['logs', id, '--follow'], { env });
  let seen = '';
  follow.stdout!.on('data', (d) => (seen += d));
  const agent = await runCli(['agent', '--once', '--exec', 'echo one; sleep 0.5; echo two; exit 3'], { env });
  assert.is(agent.code, 0);
  assert.is(await exited(follow), 1, 'the job failed');
  assert.match(seen, '[command] one');
  assert.match(seen, '[command] two');
});

test('agent --concurrency 4 runs four jobs at once, and status lists it with its jobs', async () => {
  const { env } = setup();
  const dir = mkdtempSync(join(work, 'concurrent-'));
  const command = `touch ${dir}/$RAIBID_JOB_ID; while [ ! -e ${dir}/go ]; do sleep 0.05; done`;
  const agent = spawnCli(['agent', '--concurrency', '4', '--exec', command], { env });
  await waitForOutput(agent, /waiting for jobs/);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(JSON.parse((await runCli(['dispatch', '--repo', 'https://git.example/o/r.git', '--ref', `b${i}`, '--json'], { env })).stdout).id);
  }
  await until(async () => readdirSync(dir).length === 4, 'four jobs running at once', 5000);
  const snap = await until(
    async () => {
      const s = JSON.parse((await runCli(['status', '--json'], { env })).stdout);
      return s.agents[0]?.jobs.length === 4 ? s : undefined;
    },
    'status to list the agent with four jobs',
    5000,
  );
  assert.is(snap.agents.length, 1);
  assert.equal([...snap.agents[0].jobs].sort(), ids.slice(0, 4).sort());
  assert.is(snap.agents[0].idleMs, null);
  assert.equal([snap.queue.pending, snap.queue.lag], [4, 1]);
  writeFileSync(join(dir, 'go'), '');
  await until(async () => (await jobJson(ids[4]!, env)).state === 'succeeded', 'the fifth job', 5000);
  agent.kill('SIGINT');
  assert.is(await exited(agent), 0);
  const after = JSON.parse((await runCli(['status', '--json'], { env })).stdout);
  assert.equal(after.agents, [], 'a stopped agent unregisters');
  assert.is(after.queue.consumers, 0, 'and leaves no consumer behind');
});

test('status --watch redraws in place on a terminal and prints plain blocks in a pipe', async () => {
  const { env } = setup();
  const piped = spawnCli(['status', '--watch', '--interval', '0.2'], { env });
  let out = '';
  piped.stdout!.on('data', (d) => (out += d));
  await until(async () => (out.match(/^queue raibid:jobs/gm)?.length ?? 0) >= 3 || undefined, 'three plain blocks');
  piped.kill('SIGINT');
  assert.is(await exited(piped), 0);
  assert.not.match(out, '\x1b[');
  const tty = await new Promise<string>((resolve) => {
    // input not a terminal: with one, status --watch is the interactive dashboard (dashboard.test)
    const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} status --watch --interval 0.2 < /dev/null`, '/dev/null'], {
      env: { ...process.env, ...env, RAIBID_CONFIG: env.RAIBID_CONFIG!, TERM: 'xterm' },
    });
    let screen = '';
    // two redraws, however long the start takes on a loaded machine (at most 15 s)
    const stop = setTimeout(() => child.kill('SIGTERM'), 15_000);
    child.stdout.on('data', (d) => {
      screen += d;
      if (screen.split('\x1b[H\x1b[2J').length - 1 >= 2) child.kill('SIGTERM');
    });
    child.on('close', () => {
      clearTimeout(stop);
      resolve(screen);
    });
  });
  assert.ok(tty.split('\x1b[H\x1b[2J').length - 1 >= 2, 'clears and redraws the screen');
});

test.run();
