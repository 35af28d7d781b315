import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../lib/errors.js';
import { RemoteHost } from '../lib/k3s/remote.js';
import { SshSession } from '../lib/ssh.js';
import { type SshHost, startSshd } from './fixtures/sshd.js';

const test = suite('root on the host: directly or through passwordless sudo');
let host: SshHost;
const sessions: SshSession[] = [];

function as(user: string): RemoteHost {
  const ssh = new SshSession(
    { address: host.address, port: host.port, user, identityFile: host.identityFile },
    { configFile: host.configFile, knownHostsFile: host.knownHostsFile },
  );
  sessions.push(ssh);
  return new RemoteHost(ssh);
}

test.before(async () => {
  host = await startSshd({
    users: [
      { name: 'spark-nopass', sudo: 'nopasswd' },
      { name: 'spark-asks', sudo: 'password' },
    ],
  });
});
test.after(async () => {
  for (const s of sessions) await s.close();
  await host.stop();
});

test('a user whose sudo needs no password gets root through it', async () => {
  const remote = as('spark-nopass');
  assert.is((await remote.ssh.run(['id', '-un'])).trim(), 'spark-nopass');
  const facts = await remote.facts();
  assert.equal([facts.version, facts.config], [undefined, undefined]);
  assert.match(facts.arch, /^(amd64|arm64)$/);
  assert.is((await remote.ssh.run(['sudo', '-n', 'id', '-u'])).trim(), '0');
});

test('a user whose sudo asks for a password is stopped with the line that fixes it', async () => {
  const remote = as('spark-asks');
  try {
    await remote.facts();
    assert.unreachable('facts() should have refused');
  } catch (error) {
    assert.instance(error, UserError);
    const e = error as UserError;
    assert.is(e.message, 'spark-asks@127.0.0.1 cannot use sudo without a password');
    assert.is(e.hint, "allow it: echo 'spark-asks ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/raibid");
  }
});

test.run();
