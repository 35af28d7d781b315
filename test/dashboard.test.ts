import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JobQueue } from '../lib/queue/queue.js';
import { CLI } from './fixtures/cli.js';
import { claimNext, makeQueue } from './fixtures/queue.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';
import { processAlive, until } from './fixtures/wait.js';

// `status --watch` at a real terminal: a tmux pane (a pseudo-terminal) driven with send-keys, read with capture-pane
const test = suite('status --watch at a terminal: the interactive dashboard');
let dir: string;
let redis: RedisServer;
let client: Redis;
let queue: JobQueue;
let socket: string;
let panePid = 0;

const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: { ...process.env, TMUX: '' } });
const screen = () => tmux('capture-pane', '-p', '-t', 'dash');
const keys = (...names: string[]) => tmux('send-keys', '-t', 'dash', ...names);
const shows = (what: string | RegExp, label = String(what)) =>
  until(
    async () => (typeof what === 'string' ? screen().includes(what) : what.test(screen())) || undefined,
    () => `the screen to show ${label}:\n${screen()}`,
  );
const selectedLine = () =>
  screen()
    .split('\n')
    .find((l) => l.startsWith('> ')) ?? '';

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-dashboard-'));
  socket = join(dir, 'tmux.sock');
  redis = await startRedis();
  client = redis.client();
  queue = makeQueue(client);
});
test.after(async () => {
  try {
    tmux('kill-server');
  } catch {
    // no server left
  }
  if (panePid && processAlive(panePid)) process.kill(panePid, 'SIGKILL');
  client.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('select, follow a log, cancel, retry (confirmed with y), filter, resize and quit', async () => {
  const running = await queue.enqueue({ repo: 'https://gitea.example/acme/running-one.git', ref: 'refs/heads/main', sha: 'a'.repeat(40) });
  const blocking = redis.client();
  const started = await claimNext(queue, blocking, 'agent-1');
  blocking.disconnect();
  assert.is(started?.verdict, 'run');
  await queue.appendLog(running.id, [{ step: 'cargo build', stream: 'out', line: '   Compiling first-line v0.1.0', ts: Date.now() }]);
  const waiting = await queue.enqueue({ repo: 'https://gitea.example/acme/waiting-two.git', ref: 'refs/heads/main', sha: 'b'.repeat(40) });
  const config = join(dir, 'raibid.yaml');
  const exitFile = join(dir, 'exit-code');
  writeFileSync(config, `redis:\n  url: ${redis.url}\n`);
  tmux(
    'new-session',
    '-d',
    '-s',
    'dash',
    '-x',
    '100',
    '-y',
    '30',
    // its exit code into a file: tmux reaps a dead pane's process only some time later, and tells its status only then
    'sh',
    '-c',
    'env "$@"; echo $? > "$0"',
    exitFile,
    `RAIBID_CONFIG=${config}`,
    'NO_COLOR=1',
    process.execPath,
    CLI,
    'status',
    '--watch',
    '--interval',
    '0.2',
    ';',
    'set-option',
    '-g',
    'remain-on-exit',
    'on',
  );
  panePid = Number(tmux('display-message', '-p', '-t', 'dash', '#{pane_pid}').trim());
  await shows(waiting.id);
  assert.is(tmux('display-message', '-p', '-t', 'dash', '#{alternate_on}').trim(), '1', 'on the alternate screen');
  assert.match(screen(), /waiting 1\s+running 1/);
  assert.match(selectedLine(), waiting.id, 'the newest job is selected first');

  keys('Down');
  await until(async () => selectedLine().includes(running.id) || undefined, 'the arrow key to select the running job');
  keys('Enter');
  await shows(`log of ${running.id}`);
  await shows('Compiling first-line v0.1.0');
  await queue.appendLog(running.id, [{ step: 'cargo test', stream: 'out', line: 'test result: ok. written later', ts: Date.now() }]);
  await shows('test result: ok. written later', 'the log pane following new lines');
  keys('Escape');
  await until(async () => !screen().includes('log of') || undefined, 'the pane to close');

  keys('Up', 'c');
  await shows(`cancel ${waiting.id}? y/n`);
  keys('y');
  await until(async () => (await queue.get(waiting.id))?.state === 'cancelled' || undefined, 'the job cancelled');
  await shows(/cancelled/);
  keys('r');
  await shows(`retry ${waiting.id}? y/n`);
  keys('n');
  await shows(`${waiting.id} not retried`);
  assert.is((await queue.get(waiting.id))?.state, 'cancelled', 'n retries nothing');
  keys('r', 'y');
  await until(async () => (await queue.get(waiting.id))?.state === 'queued' || undefined, 'the job retried');

  keys('/', 'r', 'u', 'n', 'n', 'i', 'n', 'g', 'Enter');
  await until(async () => (!screen().includes(waiting.id) && screen().includes(running.id)) || undefined, 'the filter to keep only the running job');
  keys('/', 'Escape');
  await shows(waiting.id, 'every job again once the filter is cleared');

  tmux('resize-window', '-t', 'dash', '-x', '44', '-y', '16');
  await until(async () => Number(tmux('display-message', '-p', '-t', 'dash', '#{pane_width}').trim()) === 44 || undefined, 'the resize');
  await until(async () => (screen().includes(running.id) && /waiting \d/.test(screen())) || undefined, 'the redraw at 44 columns');
  const lines = screen().split('\n');
  assert.ok(
    lines.every((l) => l.length <= 44),
    `no line wider than the terminal:\n${lines.join('\n')}`,
  );
  assert.ok(
    lines.some((l) => l.includes('agents')),
    'agents stay on screen',
  );

  keys('q');
  await until(async () => (existsSync(exitFile) && readFileSync(exitFile, 'utf8').endsWith('\n')) || undefined, 'q to quit');
  assert.is(readFileSync(exitFile, 'utf8').trim(), '0');
  assert.is(tmux('display-message', '-p', '-t', 'dash', '#{alternate_on}').trim(), '0', 'the alternate screen left');
});

test.run();
