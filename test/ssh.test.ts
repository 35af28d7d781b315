import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../lib/errors.js';
import { quote } from '../lib/shell.js';
import { SshSession } from '../lib/ssh.js';
import { freePort } from './fixtures/ports.js';
import { type SshHost, startSshd } from './fixtures/sshd.js';

const test = suite('ssh over a real sshd');
let host: SshHost;
const sessions: SshSession[] = [];

function session(overrides: Partial<ConstructorParameters<typeof SshSession>[0]> = {}, timeout = 5): SshSession {
  const s = new SshSession(
    { address: host.address, port: host.port, user: host.user, identityFile: host.identityFile, ...overrides },
    { configFile: host.configFile, knownHostsFile: host.knownHostsFile, connectTimeoutSeconds: timeout },
  );
  sessions.push(s);
  return s;
}

async function refused(promise: Promise<unknown>): Promise<UserError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, UserError);
    return error as UserError;
  }
  throw new Error('expected a refusal');
}

test.before(async () => {
  host = await startSshd();
});
test.after(async () => {
  for (const s of sessions) await s.close();
  await host.stop();
});

test('arguments reach the remote command exactly, metacharacters and all, executing nothing', async () => {
  const ssh = session();
  const canary = join(host.dir, 'pwned');
  const tricky = ['plain', 'two words', "it's", '$(touch ' + canary + ')', '`touch ' + canary + '`', '; touch ' + canary, 'a\nb', '*', '', '-n'];
  const out = await ssh.run(['printf', '%s\\n', ...tricky]);
  assert.equal(
    out.split('\n').slice(0, -1),
    tricky.flatMap((t) => t.split('\n')),
  );
  assert.is(existsSync(canary), false);
  assert.is(quote("it's"), `'it'\\''s'`);
});

test('one multiplexed connection serves many commands, and close() ends it', async () => {
  const ssh = session();
  const before = (host.log().match(/Accepted publickey/g) ?? []).length;
  for (let i = 0; i < 10; i++) assert.is((await ssh.run(['echo', String(i)])).trim(), String(i));
  const after = (host.log().match(/Accepted publickey/g) ?? []).length;
  assert.is(after - before, 1, 'ten commands, one login');
  assert.ok(await ssh.isConnected());
  await ssh.close();
  assert.is(await ssh.isConnected(), false);
});

test('a master connection that died is replaced on the next command', async () => {
  const ssh = session();
  await ssh.run(['true']);
  const check = await new Promise<string>((resolve) => {
    execFile('ssh', ['-F', host.configFile, '-o', `ControlPath=${ssh.controlPath}`, '-O', 'check', host.address], (_e, _o, stderr) => resolve(stderr));
  });
  const pid = Number(check.match(/pid=(\d+)/)?.[1]);
  assert.ok(pid > 0, check);
  process.kill(pid, 'SIGKILL');
  assert.is((await ssh.run(['echo', 'back'])).trim(), 'back');
  assert.ok(await ssh.isConnected());
});

test('exit codes and stderr come back; run() turns a failure into an error naming the command', async () => {
  const ssh = session();
  const result = await ssh.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(result, { code: 3, stdout: 'out\n', stderr: 'err\n' });
  const error = await refused(ssh.run(['sh', '-c', 'echo nope >&2; exit 1']));
  assert.match(error.message, "`sh -c 'echo nope >&2; exit 1'` failed: nope");
});

test('a command given no input reads end-of-file on stdin; one given input reads it', async () => {
  const ssh = session();
  // stdin left open would keep cat (and any remote command that reads stdin) waiting for good
  assert.equal(await ssh.exec(['cat'], { timeoutMs: 5000 }), { code: 0, stdout: '', stderr: '' });
  assert.is(await ssh.run(['cat'], { input: 'piped\n', timeoutMs: 5000 }), 'piped\n');
});

test('upload writes the content with the mode in one step', async () => {
  const ssh = session();
  const path = join(host.dir, 'uploaded.yaml');
  await ssh.upload('token: "s3cret"\n', path, '0600');
  assert.is(readFileSync(path, 'utf8'), 'token: "s3cret"\n');
  assert.is((await ssh.run(['stat', '-c', '%a', path])).trim(), '600');
  assert.is(existsSync(`${path}.raibid-partial`), false);
});

test('a wrong key is refused with a hint naming the key', async () => {
  const wrongKey = join(host.dir, 'host_ed25519');
  const error = await refused(session({ identityFile: wrongKey }).exec(['true']));
  assert.is(error.exitCode, 1);
  assert.match(error.message, 'permission denied');
  assert.match(error.hint!, wrongKey);
});

test('an unreachable host fails within the connect timeout, with a hint', async () => {
  const port = await freePort();
  const started = Date.now();
  const error = await refused(session({ port }, 2).exec(['true']));
  assert.ok(Date.now() - started < 5000);
  assert.match(error.message, 'unreachable');
  assert.match(error.hint!, `port ${port}`);
});

test('~/.ssh/config aliases and ProxyJump work as they do for ssh itself', async () => {
  const config = join(host.dir, 'alias_config');
  writeFileSync(
    config,
    [
      'Host spark-alias',
      '  HostName 127.0.0.1',
      `  Port ${host.port}`,
      `  User ${host.user}`,
      `  IdentityFile ${host.identityFile}`,
      'Host spark-behind-jump',
      '  HostName 127.0.0.1',
      `  Port ${host.port}`,
      `  User ${host.user}`,
      `  IdentityFile ${host.identityFile}`,
      '  ProxyJump spark-alias',
      'Host *',
      `  UserKnownHostsFile ${host.knownHostsFile}`,
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  for (const address of ['spark-alias', 'spark-behind-jump']) {
    const ssh = new SshSession({ address }, { configFile: config, knownHostsFile: host.knownHostsFile, connectTimeoutSeconds: 5 });
    sessions.push(ssh);
    assert.is((await ssh.run(['echo', address])).trim(), address);
  }
  assert.match(host.log(), /Accepted publickey[\s\S]*Accepted publickey[\s\S]*Accepted publickey/, 'the jump host and the target each logged in');
});

test('a changed host key is refused, never accepted silently', async () => {
  const first = session();
  await first.run(['true']);
  assert.match(readFileSync(host.knownHostsFile, 'utf8'), `[127.0.0.1]:${host.port}`, 'accepted on first use');
  await first.close();
  const known = readFileSync(host.knownHostsFile, 'utf8');
  await host.rotateHostKey();
  const error = await refused(session().exec(['true']));
  assert.match(error.message, 'host key has changed');
  assert.match(error.hint!, 'ssh-keygen -R 127.0.0.1');
  assert.is(readFileSync(host.knownHostsFile, 'utf8'), known, 'known_hosts untouched');
  writeFileSync(host.knownHostsFile, '');
});

test.run();
