import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, exited, killStragglers, runCli, spawnCli, waitForOutput } from './fixtures/cli.js';
import { claimNext, makeQueue } from './fixtures/queue.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';
import { until } from './fixtures/wait.js';

const test = suite('what a terminal shows: status, logs -f, an agent stopping, jobs show');
let server: RedisServer;
let redis: Redis;
let blocking: Redis;
let work: string;
let env: NodeJS.ProcessEnv;
const REPO = 'https://git.example/octo/hello.git';

test.before(async () => {
  server = await startRedis();
  redis = server.client();
  blocking = server.client();
  work = mkdtempSync(join(tmpdir(), 'raibid-terminal-'));
  const config = join(work, 'raibid.yaml');
  writeFileSync(config, `redis:\n  url: ${server.url}\n`);
  env = { RAIBID_CONFIG: config, RAIBID_REDIS_URL: undefined, HOME: work };
});
test.after.each(() => killStragglers());
test.after(async () => {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
});
test.before.each(async () => {
  await redis.flushall();
});

function stderrOf(child: ChildProcess): () => string {
  let text = '';
  child.stderr!.on('data', (d) => (text += d));
  return () => text;
}

test('status labels its counts, says when a running job has no live agent, and ends quietly in a closed pipe', async () => {
  const queue = makeQueue(redis);
  await queue.enqueue({ repo: REPO, ref: 'main' });
  await queue.enqueue({ repo: REPO, ref: 'dev' });
  const taken = await claimNext(queue, blocking, 'agent-that-died');
  assert.is(taken?.verdict, 'run');
  const closed = [spawnCli(['status'], { env }), spawnCli(['jobs', 'list'], { env })];
  for (const child of closed) child.stdout!.destroy();
  const closedStderr = closed.map(stderrOf);
  const [status, ...closedCodes] = await Promise.all([runCli(['status'], { env }), ...closed.map(exited)]);
  assert.is(status.code, 0, status.stderr);
  const line = (label: string) =>
    status.stdout
      .split('\n')
      .find((l) => l.trimStart().startsWith(`${label} `))
      ?.replace(/\s+/g, ' ')
      .trim();
  assert.is(line('waiting'), 'waiting 1 queued, not yet picked up by an agent (what KEDA scales on)');
  assert.is(line('running'), 'running 1 picked up, not finished; 1 held by no live agent: taken over after 30 s');
  assert.is(line('stream'), 'stream 2 entries: the unfinished jobs, plus finished ones not yet trimmed');
  assert.equal(
    [closedCodes, closedStderr.map((read) => read())],
    [
      [0, 0],
      ['', ''],
    ],
    'no EPIPE stack trace',
  );
});

// with input from a terminal too, status --watch is the interactive dashboard (dashboard.test)
test('status --watch to a terminal, input not one, draws on the alternate screen within its width; Ctrl-C leaves it', async () => {
  await makeQueue(redis).enqueue({ repo: `https://git.example/${'a-very-long-owner-name/'.repeat(4)}repo.git`, ref: 'main' });
  const terminal: NodeJS.ProcessEnv = { ...process.env, ...env, TERM: 'xterm', NO_COLOR: '1' };
  delete terminal.FORCE_COLOR;
  const child = spawn('script', ['-qfec', `stty cols 50 rows 12; exec ${process.execPath} ${CLI} status --watch --interval 0.2 < /dev/null`, '/dev/null'], {
    env: terminal,
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  let screen = '';
  child.stdout.on('data', (d) => {
    screen += d;
    if (child.stdin.writable && screen.split('\x1b[H\x1b[2J').length - 1 === 2) child.stdin.end('\x03');
  });
  const code = await exited(child);
  clearTimeout(guard);
  assert.is(code, 0);
  assert.ok(screen.startsWith('\x1b[?1049h'), `enters the alternate screen first: ${JSON.stringify(screen.slice(0, 40))}`);
  assert.ok(screen.trimEnd().endsWith('\x1b[?1049l'), `leaves it last: ${JSON.stringify(screen.slice(-40))}`);
  // eslint-disable-next-line no-control-regex
  const lines = screen.replace(/\x1b\[[?0-9;]*[A-Za-z]|\^C/g, '').split(/\r?\n/);
  const widest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
  assert.ok(widest.length <= 50, `a line wider than 50 columns: ${widest}`);
  assert.ok(
    lines.some((l) => l.length === 50 && l.endsWith('…')),
    'long lines are cut, marked with …',
  );
  const frame = screen.split('\x1b[H\x1b[2J')[1]!.split('\r\n');
  assert.ok(frame.length <= 12, `a frame of ${frame.length} rows on a terminal of 12`);
});

test('logs -f on a queued job says it is waiting for an agent', async () => {
  const { id } = await makeQueue(redis).enqueue({ repo: REPO, ref: 'main' });
  const follow = spawnCli(['logs', id, '-f'], { env });
  const stderr = stderrOf(follow);
  await until(async () => stderr().includes('\n') || undefined, 'the waiting line');
  follow.kill('SIGINT');
  assert.is(await exited(follow), 130);
  assert.is(stderr(), `job ${id} is queued: waiting for an agent to pick it up (start one with \`raibid-task agent\`; Ctrl-C stops waiting)\n`);
});

test('Ctrl-C on a busy agent says which job it finishes and what a second Ctrl-C does; the job still succeeds', async () => {
  const queue = makeQueue(redis);
  const { id } = await queue.enqueue({ repo: REPO, ref: 'main' });
  const release = join(work, 'release');
  const agent = spawnCli(['agent', '--exec', `while [ ! -f ${release} ]; do sleep 0.05; done`], { env });
  await waitForOutput(agent, new RegExp(`${id} started`));
  agent.kill('SIGINT');
  const said = await waitForOutput(agent, /Ctrl-C again.*\n/);
  writeFileSync(release, '');
  assert.is(await exited(agent), 0);
  assert.match(said, `Ctrl-C again stops at once: the job is then taken over by another agent after 30 s (as a new attempt)`);
  assert.is((await queue.get(id))!.state, 'succeeded');
  rmSync(release);
});

test('jobs show prints the commit and the steps as a table of name, exit and duration', async () => {
  const queue = makeQueue(redis);
  const { id } = await queue.enqueue({ repo: REPO, ref: 'main' });
  const taken = await claimNext(queue, blocking, 'agent-a');
  if (taken?.verdict !== 'run') throw new Error('not taken');
  const sha = '0123456789abcdef0123456789abcdef01234567';
  const steps = [
    { name: 'fetch', exitCode: 0, durationMs: 1200 },
    { name: 'build', exitCode: 0, durationMs: 65_000 },
    { name: 'test', exitCode: 101, durationMs: 800 },
  ];
  await queue.complete(taken.claim, { state: 'failed', exitCode: 101, failedStep: 'test', error: 'test exited with 101', result: { sha, steps } });
  const shown = await runCli(['jobs', 'show', id], { env });
  assert.is(shown.code, 0, shown.stderr);
  const lines = shown.stdout.split('\n');
  assert.ok(lines.includes(`sha         ${sha}`), shown.stdout);
  const table = lines.slice(lines.indexOf('STEP   EXIT  DURATION'));
  assert.equal(table.slice(0, 4), ['STEP   EXIT  DURATION', 'fetch  0     1.2s', 'build  0     1m05s', 'test   101   800ms']);
});

test.run();
