import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Config, parseConfig } from '../lib/config.js';
import { UserError } from '../lib/errors.js';
import { RemoteHost, airgapFiles } from '../lib/k3s/remote.js';
import { k3sStage } from '../lib/k3s/stage.js';
import { SshSession } from '../lib/ssh.js';
import { uninstallK3s } from '../lib/teardown.js';
import { makeAirgap, stubK3s } from './fixtures/airgap.js';
import { CONFORMANCE_DIR, conformanceAvailable } from './fixtures/conformance.js';
import { FIXTURE_RECORDS, type SshHost, startSshd } from './fixtures/sshd.js';

const test = suite("conformance: k3s's real install.sh through our steps, on hosts with their own /etc, /usr/local, /var/lib and /run");
const available = conformanceAvailable('conformance k3s');
/** Without the assets every test is reported skipped. */
const it = available ? test : test.skip;
const INSTALL_SH = () => join(CONFORMANCE_DIR!, 'k3s', 'install.sh');
const FIXTURE_CURL = new URL('../../test/fixtures/host/curl', import.meta.url).pathname;

let server: SshHost;
let worker: SshHost;
const hosts: SshHost[] = [];
const sessions: SshSession[] = [];

function remote(host: SshHost, user = host.user): RemoteHost {
  const ssh = new SshSession(
    { address: host.address, port: host.port, user, identityFile: host.identityFile },
    { configFile: host.configFile, knownHostsFile: host.knownHostsFile },
  );
  sessions.push(ssh);
  return new RemoteHost(ssh);
}

function config(version: string, on: SshHost = server, user?: string, nodes: SshHost[] = [worker]): Config {
  return parseConfig(
    {
      host: { address: '127.0.0.1', port: on.port, name: 'spark-1', ...(user ? { user } : {}) },
      nodes: nodes.map((n, i) => ({ address: '127.0.0.1', port: n.port, name: `spark-${i + 2}` })),
      k3s: { version },
    },
    'test',
  );
}

const airgap = (version: string) => airgapFiles(makeAirgap(version, INSTALL_SH()), version);
const onHost = (host: SshHost, path: string) => join(host.root, path);
const enables = (host: SshHost) => host.record('systemctl').filter((line) => line.startsWith('enable ')).length;

test.before(async () => {
  if (!available) return;
  [server, worker] = await Promise.all([startSshd(), startSshd()]);
  hosts.push(server, worker);
});
test.after(async () => {
  for (const s of sessions) await s.close();
  await Promise.all(hosts.map((h) => h.stop()));
});

it('server install and worker join: install.sh writes the units, uninstall scripts and symlinks, and starts both', async () => {
  const outcomes = await k3sStage(config('v1.33.5+k3s1'), remote(server), [remote(worker)], { airgap: airgap('v1.33.5+k3s1') });
  assert.equal(
    outcomes.map((o) => `${o.role}:${o.action.kind}`),
    ['server:install', 'agent:install'],
  );
  assert.is(server.service('k3s'), 'k3s version v1.33.5+k3s1 (fixture)');
  assert.is(worker.service('k3s-agent'), 'k3s version v1.33.5+k3s1 (fixture)');
  assert.match(readFileSync(onHost(server, 'etc/systemd/system/k3s.service'), 'utf8'), /ExecStart=\/usr\/local\/bin\/k3s \\\n\s+server/);
  assert.match(readFileSync(onHost(worker, 'etc/systemd/system/k3s-agent.service'), 'utf8'), /ExecStart=\/usr\/local\/bin\/k3s \\\n\s+agent/);
  for (const file of ['usr/local/bin/k3s-uninstall.sh', 'usr/local/bin/k3s-killall.sh', 'etc/systemd/system/k3s.service.env'])
    assert.ok(existsSync(onHost(server, file)), file);
  assert.ok(existsSync(onHost(worker, 'usr/local/bin/k3s-agent-uninstall.sh')));
  const agentToken = readFileSync(onHost(server, 'var/lib/rancher/k3s/server/agent-token'), 'utf8').trim();
  assert.is(readFileSync(onHost(worker, 'etc/rancher/k3s/raibid-token'), 'utf8').trim(), agentToken, 'joined with the agent token');
});

it('a re-run on converged hosts is unchanged and does not run install.sh', async () => {
  const before = [enables(server), enables(worker)];
  const outcomes = await k3sStage(config('v1.33.5+k3s1'), remote(server), [remote(worker)], { airgap: airgap('v1.33.5+k3s1') });
  assert.equal(
    outcomes.map((o) => o.action.kind),
    ['unchanged', 'unchanged'],
  );
  assert.equal([enables(server), enables(worker)], before);
});

it('an air-gapped upgrade restarts k3s on the new version, images keep their file name', async () => {
  const files = airgap('v1.34.1+k3s1');
  const dir = join(files.installScript, '..');
  const arch = (await remote(server).facts()).arch;
  writeFileSync(join(dir, `k3s-airgap-images-${arch}.tar.zst`), 'zstd-compressed images');
  const outcomes = await k3sStage(config('v1.34.1+k3s1'), remote(server), [remote(worker)], { airgap: airgapFiles(dir, 'v1.34.1+k3s1') });
  assert.equal(
    outcomes.map((o) => o.action.kind),
    ['upgrade', 'upgrade'],
  );
  // install.sh hashes binary, unit and env before and after; the upload came first, so only the forced restart runs the new k3s
  assert.is(server.service('k3s'), 'k3s version v1.34.1+k3s1 (fixture)');
  assert.is(worker.service('k3s-agent'), 'k3s version v1.34.1+k3s1 (fixture)');
  assert.is(readFileSync(onHost(server, `var/lib/rancher/k3s/agent/images/k3s-airgap-images-${arch}.tar.zst`), 'utf8'), 'zstd-compressed images');
});

it('a binary replaced without a restart is noticed and restarted', async () => {
  // as after an upgrade interrupted between the upload and install.sh's restart
  const binary = onHost(server, 'usr/local/bin/k3s');
  await new Promise((r) => setTimeout(r, 1100));
  writeFileSync(binary, readFileSync(binary));
  const outcomes = await k3sStage(config('v1.34.1+k3s1'), remote(server), [], { airgap: airgap('v1.34.1+k3s1') });
  assert.equal(
    outcomes.map((o) => o.action),
    [{ kind: 'restart', reason: 'k3s runs an older k3s: the binary changed after it started' }],
  );
  const again = await k3sStage(config('v1.34.1+k3s1'), remote(server), [], { airgap: airgap('v1.34.1+k3s1') });
  assert.is(again[0]!.action.kind, 'unchanged');
});

it('a first start that fails, then a re-run: the half-done install is repaired, not left "unchanged"', async () => {
  const host = await startSshd();
  hosts.push(host);
  mkdirSync(onHost(host, FIXTURE_RECORDS.slice(1)), { recursive: true });
  writeFileSync(onHost(host, `${FIXTURE_RECORDS.slice(1)}/fail-start`), '');
  const first = await k3sStage(config('v1.33.5+k3s1', host, undefined, []), remote(host), [], { airgap: airgap('v1.33.5+k3s1') }).catch((e: Error) => e);
  assert.instance(first, Error);
  assert.match((first as Error).message, 'Job for k3s.service failed');
  assert.is(host.service('k3s'), undefined);
  rmSync(onHost(host, `${FIXTURE_RECORDS.slice(1)}/fail-start`));
  const again = await k3sStage(config('v1.33.5+k3s1', host, undefined, []), remote(host), [], { airgap: airgap('v1.33.5+k3s1') });
  assert.equal(
    again.map((o) => o.action),
    [{ kind: 'repair', reason: 'k3s is not running' }],
  );
  assert.is(host.service('k3s'), 'k3s version v1.33.5+k3s1 (fixture)');
});

it('an air-gap binary that is not k3s.version is refused before anything is uploaded', () => {
  const error = (() => {
    try {
      airgapFiles(makeAirgap('v1.33.5+k3s1', INSTALL_SH()), 'v1.35.0+k3s1');
    } catch (e) {
      return e;
    }
  })();
  assert.instance(error, UserError);
  assert.match((error as UserError).message, 'is k3s v1.33.5+k3s1, not k3s.version v1.35.0+k3s1');
});

it('online: curl … | sh -s - through sudo -n downloads, verifies and installs', async () => {
  const host = await startSshd({ users: [{ name: 'spark-admin', sudo: 'nopasswd' }] });
  hosts.push(host);
  const arch = (await remote(host, 'spark-admin').facts()).arch;
  const binaryName = arch === 'amd64' ? 'k3s' : `k3s-${arch}`;
  const downloads = onHost(host, `${FIXTURE_RECORDS.slice(1)}/downloads`);
  mkdirSync(downloads, { recursive: true });
  copyFileSync(INSTALL_SH(), join(downloads, 'get.k3s.io'));
  const binary = stubK3s('v1.33.5+k3s1');
  writeFileSync(join(downloads, binaryName), binary);
  writeFileSync(join(downloads, `sha256sum-${arch}.txt`), `${createHash('sha256').update(binary).digest('hex')}  ${binaryName}\n`);
  copyFileSync(FIXTURE_CURL, onHost(host, 'usr/local/bin/curl'));
  const outcomes = await k3sStage(config('v1.33.5+k3s1', host, 'spark-admin', []), remote(host, 'spark-admin'), []);
  assert.equal(
    outcomes.map((o) => o.action.kind),
    ['install'],
  );
  assert.is(host.service('k3s'), 'k3s version v1.33.5+k3s1 (fixture)');
  const fetched = host.record('curl');
  assert.ok(fetched.includes('https://get.k3s.io'), fetched.join(', '));
  assert.ok(
    fetched.some((url) => url.endsWith(`/download/v1.33.5+k3s1/${binaryName}`)),
    fetched.join(', '),
  );
});

it('teardown runs the uninstall scripts install.sh wrote and removes what we added', async () => {
  for (const [host, role] of [
    [worker, 'agent'],
    [server, 'server'],
  ] as const) {
    const line = await uninstallK3s(remote(host), role, false);
    assert.match(line, `ran /usr/local/bin/${role === 'server' ? 'k3s' : 'k3s-agent'}-uninstall.sh, removed /var/lib/rancher/raibid and /etc/rancher/node`);
  }
  for (const path of [
    'usr/local/bin/k3s',
    'etc/systemd/system/k3s.service',
    'etc/rancher/k3s',
    'var/lib/rancher/k3s',
    'var/lib/rancher/raibid',
    'usr/local/bin/k3s-uninstall.sh',
    'usr/local/bin/k3s-killall.sh',
  ]) {
    assert.not.ok(existsSync(onHost(server, path)), `server: ${path}`);
  }
  assert.not.ok(existsSync(onHost(worker, 'etc/systemd/system/k3s-agent.service')));
  assert.is(await uninstallK3s(remote(server), 'server', false), '127.0.0.1 (server): k3s not installed');
});

test.run();
