import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { type Config, parseConfig } from '../lib/config.js';
import { UserError } from '../lib/errors.js';
import { serverConfig } from '../lib/k3s/plan.js';
import { RemoteHost, airgapFiles, describeStep, k3sSteps } from '../lib/k3s/remote.js';
import { type K3sStageOptions, k3sStage, resolveAddresses } from '../lib/k3s/stage.js';
import { SshSession } from '../lib/ssh.js';
import { makeAirgap, stubK3s } from './fixtures/airgap.js';
import { uninstallK3s } from '../lib/teardown.js';
import { FIXTURE_RECORDS, PRIVATE_DIRS, type SshHost, startSshd } from './fixtures/sshd.js';

const test = suite('k3s stage over SSH, air-gapped, on fixture hosts');
let server: SshHost;
let worker: SshHost;
const sessions: SshSession[] = [];

function remote(host: SshHost): RemoteHost {
  const ssh = new SshSession(
    { address: host.address, port: host.port, user: host.user, identityFile: host.identityFile },
    { configFile: host.configFile, knownHostsFile: host.knownHostsFile },
  );
  sessions.push(ssh);
  return new RemoteHost(ssh);
}

function config(version: string, extra: Record<string, unknown> = {}): Config {
  return parseConfig(
    {
      host: { address: '127.0.0.1', port: server.port, name: 'spark-1' },
      nodes: [{ address: '127.0.0.1', port: worker.port, name: 'spark-2' }],
      k3s: { version },
      ...extra,
    },
    'test',
  );
}

/** The k3s stage on the server and the worker, with the air-gap files of `version`. */
const converge = (version: string, extra: Record<string, unknown> = {}, options: Omit<K3sStageOptions, 'airgap'> = {}) =>
  k3sStage(config(version, extra), remote(server), [remote(worker)], { airgap: airgapFiles(makeAirgap(version), version), ...options });

/** The server under the node name a changed config gives it. */
const renamedServer = () => ({ host: { address: '127.0.0.1', port: server.port, name: 'spark-one' } });

const installs = (host: SshHost) => host.record('installs');

/** What this machine holds where the hosts write: their real paths must stay untouched here. */
const snapshot = () =>
  execFileSync('find', [...PRIVATE_DIRS.filter((d) => d !== '/run'), '-maxdepth', '3', '-not', '-path', '/var/lib/apt/*', '-printf', '%p %s %T@\n'], {
    encoding: 'utf8',
  });
let before: string;

test.before(async () => {
  before = snapshot();
  [server, worker] = await Promise.all([startSshd(), startSshd()]);
});
test.after(async () => {
  for (const s of sessions) await s.close();
  await Promise.all([server.stop(), worker.stop()]);
});

test('dry run prints every remote step, secrets out of it, and changes nothing', async () => {
  const printed: string[] = [];
  const outcomes = await converge('v1.33.5+k3s1', {}, { dryRun: true, onPlan: (o) => printed.push(...o.steps.map(describeStep)) });
  assert.equal(
    outcomes.map((o) => o.action.kind),
    ['install', 'install'],
  );
  assert.match(printed.join('\n'), 'INSTALL_K3S_SKIP_DOWNLOAD=true');
  assert.match(printed.join('\n'), 'write the join token');
  assert.equal([installs(server), installs(worker)], [[], []]);
  assert.is(existsSync(join(server.root, 'etc/rancher/k3s/config.yaml')), false);
});

test('first run installs the server and joins the worker with its token', async () => {
  const outcomes = await converge('v1.33.5+k3s1');
  assert.equal(
    outcomes.map((o) => `${o.role}:${o.action.kind}`),
    ['server:install', 'agent:install'],
  );
  assert.equal(installs(server), ['server v1.33.5+k3s1']);
  assert.equal(installs(worker), ['agent v1.33.5+k3s1']);
  const serverYaml = readFileSync(join(server.root, 'etc/rancher/k3s/config.yaml'), 'utf8');
  assert.is(serverYaml, serverConfig(config('v1.33.5+k3s1')));
  assert.is(statSync(join(server.root, 'etc/rancher/k3s/config.yaml')).mode & 0o777, 0o600);
  // the agent token, which joins nodes and nothing more; never the server token (full admin)
  const token = readFileSync(join(server.root, 'var/lib/rancher/k3s/server/agent-token'), 'utf8').trim();
  assert.is(readFileSync(join(worker.root, 'etc/rancher/k3s/raibid-token'), 'utf8').trim(), token);
  assert.is.not(token, readFileSync(join(server.root, 'var/lib/rancher/k3s/server/node-token'), 'utf8').trim());
  assert.equal(
    [server.service('k3s'), worker.service('k3s-agent')],
    ['k3s version v1.33.5+k3s1 (fixture)', 'k3s version v1.33.5+k3s1 (fixture)'],
    'both services started',
  );
  assert.is(statSync(join(worker.root, 'etc/rancher/k3s/raibid-token')).mode & 0o777, 0o600);
  assert.is(parse(readFileSync(join(worker.root, 'etc/rancher/k3s/config.yaml'), 'utf8')).server, 'https://127.0.0.1:6443');
});

test('a second run on converged hosts runs no installer and reports unchanged', async () => {
  const started = Date.now();
  const outcomes = await converge('v1.33.5+k3s1');
  assert.equal(
    outcomes.map((o) => o.action.kind),
    ['unchanged', 'unchanged'],
  );
  assert.equal(
    outcomes.map((o) => o.steps.length),
    [0, 0],
  );
  assert.equal([installs(server).length, installs(worker).length], [1, 1]);
  assert.ok(Date.now() - started < 5000, `re-run took ${Date.now() - started} ms`);
});

test('a new version upgrades; a changed config only rewrites it and restarts k3s', async () => {
  const upgrade = await converge('v1.34.1+k3s1');
  assert.equal(
    upgrade.map((o) => o.action.kind),
    ['upgrade', 'upgrade'],
  );
  assert.equal(installs(server), ['server v1.33.5+k3s1', 'server v1.34.1+k3s1']);
  assert.equal(installs(worker), ['agent v1.33.5+k3s1', 'agent v1.34.1+k3s1']);
  const reconfigured = await converge('v1.34.1+k3s1', renamedServer());
  assert.equal(
    reconfigured.map((o) => o.action.kind),
    ['reconfigure', 'unchanged'],
  );
  assert.is(installs(server).length, 2, 'no installer for a config change');
  assert.match(server.record('systemctl').join('\n'), 'restart k3s');
  assert.match(readFileSync(join(server.root, 'etc/rancher/k3s/config.yaml'), 'utf8'), 'node-name: spark-one');
});

test("a reinstalled server's new token re-joins the existing worker", async () => {
  // a reinstall makes new tokens; the worker still holds the old one and could never rejoin
  const fresh = 'K10fixturereinstalled::node:0123456789abcdef';
  writeFileSync(join(server.root, 'var/lib/rancher/k3s/server/agent-token'), `${fresh}\n`);
  const restarts = worker.record('systemctl').filter((l) => l === 'restart k3s-agent').length;
  const outcomes = await converge('v1.34.1+k3s1', renamedServer());
  assert.equal(
    outcomes.map((o) => o.action.kind),
    ['unchanged', 'rejoin'],
  );
  assert.is(readFileSync(join(worker.root, 'etc/rancher/k3s/raibid-token'), 'utf8').trim(), fresh);
  assert.is(worker.record('systemctl').filter((l) => l === 'restart k3s-agent').length, restarts + 1);
  assert.ok(worker.service('k3s-agent'), 'the agent started with it');
  const again = await converge('v1.34.1+k3s1', renamedServer());
  assert.equal(
    again.map((o) => o.action.kind),
    ['unchanged', 'unchanged'],
  );
});

test('air-gap images keep their file name (k3s picks the decompressor from it), per host architecture', async () => {
  const dir = makeAirgap('v1.34.1+k3s1');
  const arch = (await remote(server).facts()).arch;
  writeFileSync(join(dir, `k3s-airgap-images-${arch}.tar.zst`), 'zstd images');
  writeFileSync(join(dir, 'k3s-airgap-images-riscv64.tar'), 'another architecture');
  const steps: string[] = [];
  const files = airgapFiles(dir, 'v1.34.1+k3s1');
  for (const step of k3sSteps({ kind: 'upgrade', reason: '' }, { role: 'server', version: 'v1.34.1+k3s1', config: '', arch, airgap: files }))
    if (step.kind === 'write') steps.push(step.path);
  assert.ok(steps.includes(`/var/lib/rancher/k3s/agent/images/k3s-airgap-images-${arch}.tar.zst`), steps.join(', '));
  assert.not.ok(steps.some((p) => p.includes('riscv64')));
});

test('an ~/.ssh/config alias as host.address reaches k3s as the host it stands for', async () => {
  const sshConfig = join(server.dir, 'alias_config');
  writeFileSync(sshConfig, `Host spark-alias\n  HostName 127.0.0.1\n  Port ${server.port}\n  LogLevel ERROR\n`);
  const ssh = new SshSession(
    { address: 'spark-alias', user: server.user, identityFile: server.identityFile },
    { configFile: sshConfig, knownHostsFile: server.knownHostsFile },
  );
  sessions.push(ssh);
  const aliased = parseConfig(
    {
      host: { address: 'spark-alias', name: 'spark-one' },
      nodes: [{ address: '127.0.0.1', port: worker.port, name: 'spark-2' }],
      k3s: { version: 'v1.34.1+k3s1' },
    },
    'test',
  );
  const planned: string[] = [];
  const outcomes = await k3sStage(aliased, new RemoteHost(ssh), [remote(worker)], {
    dryRun: true,
    airgap: airgapFiles(makeAirgap('v1.34.1+k3s1'), 'v1.34.1+k3s1'),
    onPlan: (o) => planned.push(...o.steps.map(describeStep)),
  });
  // the hosts were set up through 127.0.0.1: the alias plans the very same configs (else tls-san
  // and the worker's server: would name spark-alias, which no other machine resolves)
  assert.equal(
    outcomes.map((o) => o.action.kind),
    ['unchanged', 'unchanged'],
    planned.join('\n'),
  );
  assert.equal(parse(serverConfig((await resolveAddresses(aliased, new RemoteHost(ssh), [])) as Config))['tls-san'], ['127.0.0.1']);
});

test('an air-gap binary of another release is refused before anything is uploaded', () => {
  const error = (() => {
    try {
      airgapFiles(makeAirgap('v1.33.5+k3s1'), 'v1.34.1+k3s1');
    } catch (e) {
      return e;
    }
  })() as UserError;
  assert.instance(error, UserError);
  assert.match(error.message, 'is k3s v1.33.5+k3s1, not k3s.version v1.34.1+k3s1');
});

test('an air-gap folder without the k3s binary is named in the error', () => {
  const dir = makeAirgap('v1.33.5+k3s1');
  const error = (() => {
    try {
      airgapFiles(join(dir, 'missing'), 'v1.33.5+k3s1');
    } catch (e) {
      return e;
    }
  })();
  assert.instance(error, UserError);
  assert.match((error as UserError).message, 'missing/install.sh is missing');
});

test('teardown of a half-done install (binary and config there, no uninstall script) removes what was put there', async () => {
  const host = await startSshd();
  try {
    mkdirSync(join(host.root, 'etc/rancher/k3s'), { recursive: true });
    writeFileSync(join(host.root, 'etc/rancher/k3s/config.yaml'), 'node-name: spark-9\n');
    writeFileSync(join(host.root, 'usr/local/bin/k3s'), stubK3s('v1.33.5+k3s1'), { mode: 0o755 });
    mkdirSync(join(host.root, 'var/lib/rancher/raibid'), { recursive: true });
    writeFileSync(join(host.root, 'var/lib/rancher/raibid/install.sh'), '#!/bin/sh\n');
    const line = await uninstallK3s(remote(host), 'server', false);
    assert.is(
      line,
      '127.0.0.1 (server): removed a half-installed k3s (no /usr/local/bin/k3s-uninstall.sh), removed /var/lib/rancher/raibid and /etc/rancher/node',
    );
    for (const path of ['usr/local/bin/k3s', 'etc/rancher/k3s', 'var/lib/rancher/raibid']) assert.not.ok(existsSync(join(host.root, path)), path);
    assert.is(await uninstallK3s(remote(host), 'server', false), '127.0.0.1 (server): k3s not installed');
  } finally {
    await host.stop();
  }
});

test('the hosts wrote their real paths, and none of it reached this machine', () => {
  assert.ok(existsSync(join(server.root, 'etc/rancher/k3s/config.yaml')), 'the host has /etc/rancher/k3s/config.yaml');
  for (const path of ['/etc/rancher', '/var/lib/rancher', '/usr/local/bin/k3s', FIXTURE_RECORDS]) assert.not.ok(existsSync(path), `${path} on this machine`);
  assert.is(snapshot(), before);
});

test.run();
