import { type ChildProcess, spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { exited, runCli } from './fixtures/cli.js';
import { freePort } from './fixtures/ports.js';

const test = suite('Redis that asks for a password');
let server: ChildProcess;
let port: number;

test.before(async () => {
  port = await freePort();
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'the-right-one'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 200; i++) {
    const probe = await runCli(['status', '--json'], { env: { RAIBID_REDIS_URL: `redis://:the-right-one@127.0.0.1:${port}` } });
    if (probe.code === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
});
test.after(async () => {
  server.kill('SIGTERM');
  await exited(server);
});

test('a wrong password says so in one line, without the password, exit 1', async () => {
  const started = Date.now();
  const wrong = await runCli(['status'], { env: { RAIBID_REDIS_URL: `redis://:guessed-wrong@127.0.0.1:${port}` } });
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, `Redis at redis://:***@127.0.0.1:${port} refused the password`);
  assert.not.match(wrong.stderr, 'guessed-wrong');
  assert.ok(Date.now() - started < 3000 + 2000, 'fails fast');
  const none = await runCli(['status'], { env: { RAIBID_REDIS_URL: `redis://127.0.0.1:${port}` } });
  assert.is(none.code, 1);
  assert.match(none.stderr, 'refused the password');
});

test.run();
