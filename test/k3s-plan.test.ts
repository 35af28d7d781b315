import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { parseConfig } from '../lib/config.js';
import { agentConfig, decide, installerEnv, parseK3sVersion, serverConfig } from '../lib/k3s/plan.js';

const test = suite('k3s plan');
const config = parseConfig(
  { host: { address: 'spark-1.local', name: 'spark-1' }, nodes: [{ address: '10.200.0.2', name: 'spark-2' }], k3s: { version: 'v1.33.5+k3s1' } },
  'test',
);

test('server config: tls-san for the host and fabric addresses, private kubeconfig, reservations', () => {
  const yaml = parse(serverConfig(config));
  assert.equal(yaml['tls-san'], ['spark-1.local', '10.200.0.2']);
  assert.is(yaml['write-kubeconfig-mode'], '0600');
  assert.is(yaml['node-name'], 'spark-1');
  assert.ok(yaml['kubelet-arg'].some((a: string) => a.startsWith('system-reserved=')));
});

test('worker config joins the server by address and reads its token from a file', () => {
  const yaml = parse(agentConfig(config.nodes[0]!, 'spark-1.local'));
  assert.is(yaml.server, 'https://spark-1.local:6443');
  assert.is(yaml['token-file'], '/etc/rancher/k3s/raibid-token');
  assert.is(yaml['node-ip'], '10.200.0.2');
  assert.not.ok('token' in yaml);
});

test('decide: install, upgrade, reconfigure, or leave alone', () => {
  const desired = { version: 'v1.33.5+k3s1', config: serverConfig(config) };
  assert.is(decide(desired, {}).kind, 'install');
  assert.equal(decide(desired, { version: 'v1.32.1+k3s1', config: desired.config }), {
    kind: 'upgrade',
    reason: 'k3s v1.32.1+k3s1 → v1.33.5+k3s1',
  });
  assert.is(decide(desired, { version: desired.version, config: 'write-kubeconfig-mode: "0644"\n' }).kind, 'reconfigure');
  assert.is(decide(desired, { version: desired.version, config: `${desired.config}\n` }).kind, 'unchanged');
});

test('k3s --version output and installer environment', () => {
  assert.is(parseK3sVersion('k3s version v1.33.5+k3s1 (8f3d1c2e)\ngo version go1.24.6\n'), 'v1.33.5+k3s1');
  assert.is(parseK3sVersion('sh: k3s: not found'), undefined);
  assert.equal(installerEnv('server', 'v1.33.5+k3s1', { airgap: true }), {
    INSTALL_K3S_VERSION: 'v1.33.5+k3s1',
    INSTALL_K3S_EXEC: 'server',
    INSTALL_K3S_SKIP_DOWNLOAD: 'true',
  });
});

test.run();
