import { once } from 'node:events';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLines, runCli } from './fixtures/cli.js';
import { freePort } from './fixtures/ports.js';

const test = suite('cli');
const home = mkdtempSync(join(tmpdir(), 'raibid-cli-'));
const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), RAIBID_CONFIG: undefined, RAIBID_REDIS_URL: undefined };

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'raibid-config-'));
  const path = join(dir, 'raibid.config.yaml');
  writeFileSync(path, text);
  return path;
}

function oneErrorLine(stderr: string): string {
  const lines = errorLines(stderr);
  assert.ok(lines.length <= 2, `error plus hint, got:\n${stderr}`);
  return lines[0]!;
}

test('--help lists the tasks; each task explains itself', async () => {
  const main = await runCli(['--help'], { env });
  assert.is(main.code, 0);
  for (const name of ['dispatch', 'jobs', 'logs', 'status', 'agent']) assert.match(main.stdout, new RegExp(`\\n  ${name}\\s`));
  for (const name of ['dispatch', 'jobs', 'logs', 'status', 'agent']) {
    const help = await runCli([name, '--help'], { env });
    assert.is(help.code, 0, name);
    assert.match(help.stdout, `raibid-task ${name}`);
    assert.match(help.stdout, '--config <file>');
  }
});

test('an unknown task or flag exits 2 with a hint', async () => {
  const task = await runCli(['dispach'], { env });
  assert.is(task.code, 2);
  assert.match(oneErrorLine(task.stderr), "unknown task 'dispach'");
  assert.match(task.stderr, 'did you mean `raibid-task dispatch`');
  const flag = await runCli(['status', '--colour'], { env });
  assert.is(flag.code, 2);
  assert.match(oneErrorLine(flag.stderr), "Unknown option '--colour'");
  assert.match(flag.stderr, 'raibid-task status --help');
  const none = await runCli([], { env });
  assert.is(none.code, 2);
  assert.match(none.stdout, 'Usage: raibid-task <task>');
});

test('bad option values name the value', async () => {
  const concurrency = await runCli(['agent', '--exec', 'true', '--concurrency', 'lots'], { env });
  assert.is(concurrency.code, 2);
  assert.match(oneErrorLine(concurrency.stderr), "--concurrency 'lots' is not a whole number from 1 to 64");
  const repo = await runCli(['dispatch', '--repo', 'no/such/dir'], { env });
  assert.is(repo.code, 2);
  assert.match(oneErrorLine(repo.stderr), "--repo 'no/such/dir' is neither a clone URL nor a local directory");
  const ref = await runCli(['dispatch', '--repo', 'https://git.example/a.git', '--ref', 'main;rm -rf /'], { env });
  assert.is(ref.code, 2);
  assert.match(oneErrorLine(ref.stderr), "--ref 'main;rm -rf /' is not a valid git ref");
  const sha = await runCli(['dispatch', '--repo', 'https://git.example/a.git', '--sha', 'xyz'], { env });
  assert.is(sha.code, 2);
  assert.match(oneErrorLine(sha.stderr), "--sha 'xyz' is not a commit hash");
  // a terminal escape in a repo URL (clear screen, retitle the window) is shown, never sent to the terminal
  const escaped = await runCli(['dispatch', '--repo', 'https://git.example/a\x1b[2J\x1b]0;pwned\x07.git'], { env });
  assert.is(escaped.code, 2);
  assert.match(oneErrorLine(escaped.stderr), "--repo 'https://git.example/a\\x1b[2J\\x1b]0;pwned\\x07.git' has control characters");
  assert.not.match(escaped.stderr, '\x1b');
  const escapedRef = await runCli(['dispatch', '--repo', 'https://git.example/a.git', '--ref', 'main\x1b[31m'], { env });
  assert.not.match(escapedRef.stderr, '\x1b');
  const state = await runCli(['jobs', 'list', '--state', 'sleeping'], { env });
  assert.is(state.code, 2);
  assert.match(state.stderr, "--state 'sleeping' is not a job state");
  const action = await runCli(['jobs', 'explode'], { env });
  assert.is(action.code, 2);
  assert.match(action.stderr, "unknown action 'explode'");
});

test('a malformed config exits 2 naming the key path', async () => {
  const unknown = await runCli(['status', '--config', configFile('redis:\n  url: redis://x\n  pasword: hunter2\n')], { env });
  assert.is(unknown.code, 2);
  assert.match(oneErrorLine(unknown.stderr), /raibid\.config\.yaml: redis\.pasword: unknown key$/);
  assert.not.match(unknown.stderr, 'hunter2');
  const wrongType = await runCli(['status', '--config', configFile('host:\n  address: spark\n  port: "twenty-two"\n')], { env });
  assert.is(wrongType.code, 2);
  assert.match(oneErrorLine(wrongType.stderr), /host\.port: .*number/);
  const nested = await runCli(['status', '--config', configFile('nodes:\n  - address: a\n  - address: b\n    port: 0\n')], { env });
  assert.is(nested.code, 2);
  assert.match(oneErrorLine(nested.stderr), /nodes\.1\.port: /);
  const yaml = await runCli(['status', '--config', configFile('redis: [unclosed\n')], { env });
  assert.is(yaml.code, 2);
  assert.match(oneErrorLine(yaml.stderr), 'not valid YAML');
  const missing = await runCli(['status', '--config', '/nonexistent/raibid.yaml'], { env });
  assert.is(missing.code, 2);
  assert.match(oneErrorLine(missing.stderr), 'config file not found: /nonexistent/raibid.yaml');
});

test('an unreachable Redis fails within about 3 s with its address and a hint, password hidden', async () => {
  const port = await freePort();
  const result = await runCli(['status'], { env: { ...env, RAIBID_REDIS_URL: `redis://:s3cret@127.0.0.1:${port}` } });
  assert.is(result.code, 1);
  assert.match(oneErrorLine(result.stderr), `cannot reach Redis at redis://:***@127.0.0.1:${port}`);
  assert.match(result.stderr, 'RAIBID_REDIS_URL');
  assert.not.match(result.stderr, 's3cret');
  assert.ok(result.ms < 5000, `took ${result.ms} ms`);
  const silent = createServer(() => {}).listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const silentPort = (silent.address() as AddressInfo).port;
  const hung = await runCli(['status'], { env: { ...env, RAIBID_REDIS_URL: `redis://127.0.0.1:${silentPort}` } });
  silent.close();
  assert.is(hung.code, 1);
  assert.match(hung.stderr, `cannot reach Redis at redis://127.0.0.1:${silentPort}: no answer within 3 s`);
  // the refused connection above fails at once, so its time is the CLI's start-up on this machine
  assert.ok(hung.ms - result.ms < 4000, `a server that never answers took ${hung.ms} ms, ${hung.ms - result.ms} ms more than a refusal`);
});

test("a task that changes things names its config on stderr, and says when it is the current directory's", async () => {
  const cwd = realpathSync(mkdtempSync(join(tmpdir(), 'raibid-cwd-')));
  const here = join(cwd, 'raibid.config.yaml');
  writeFileSync(here, 'k3s:\n  context: here\n', { mode: 0o600 });
  const args = ['dispatch', '--repo', 'https://git.example/o/r.git', '--dry-run', '--json'];
  const local = await runCli(args, { env, cwd });
  assert.is(local.code, 0, local.stderr);
  assert.is(JSON.parse(local.stdout).dryRun, true, 'stdout stays pure JSON');
  assert.is(local.stderr, `raibid-task: using config ${here} (from the current directory)\n`);
  const named = configFile('k3s:\n  context: named\n');
  const elsewhere = await runCli(args, { env: { ...env, RAIBID_CONFIG: named }, cwd });
  assert.is(elsewhere.stderr, `raibid-task: using config ${named}\n`);
  const none = await runCli(args, { env, cwd: home });
  assert.is(none.stderr, 'raibid-task: using no config file (defaults and environment)\n');
});

test.run();
