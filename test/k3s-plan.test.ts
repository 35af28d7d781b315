import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { parseConfig } from '../lib/config.js';
import { type HostFacts, agentConfig, decide, installerEnv, parseK3sVersion, serverConfig } from '../lib/k3s/plan.js';

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
  // k3s-agent exits on a node-ip that is not an address
  assert.not.ok('node-ip' in parse(agentConfig({ ...config.nodes[0]!, address: 'spark-2.local' }, 'spark-1.local')));
  assert.is(parse(agentConfig({ ...config.nodes[0]!, address: 'fd00::2' }, 'spark-1.local'))['node-ip'], 'fd00::2');
});

test('tls-san holds the host of k3s.apiUrl; eviction keeps an image-disk threshold', () => {
  const behindName = parseConfig({ host: { address: '10.0.0.5' }, k3s: { apiUrl: 'https://k8s.spark.lan:6443' } }, 'test');
  assert.equal(parse(serverConfig(behindName))['tls-san'], ['10.0.0.5', 'k8s.spark.lan']);
  const eviction = (parse(serverConfig(config))['kubelet-arg'] as string[]).find((a) => a.startsWith('eviction-hard='))!;
  assert.match(eviction, 'imagefs.available<15%');
  assert.match(eviction, 'nodefs.available<10%');
});

const running = (version: string, config: string, extra: Partial<HostFacts> = {}): HostFacts => ({
  arch: 'arm64',
  version,
  config,
  binaryChangedAt: 1_000,
  services: { server: { unit: true, active: true, startedAt: 2_000 }, agent: { unit: false, active: false } },
  uninstallers: { server: true, agent: false },
  ...extra,
});

test('decide: install, upgrade, repair, restart, reconfigure, or leave alone', () => {
  const desired = { role: 'server' as const, version: 'v1.33.5+k3s1', config: serverConfig(config) };
  const none = {
    arch: 'arm64',
    services: { server: { unit: false, active: false }, agent: { unit: false, active: false } },
    uninstallers: { server: false, agent: false },
  };
  assert.is(decide(desired, none).kind, 'install');
  assert.equal(decide(desired, running('v1.32.1+k3s1', desired.config)), { kind: 'upgrade', reason: 'k3s v1.32.1+k3s1 → v1.33.5+k3s1' });
  assert.is(decide(desired, running(desired.version, 'write-kubeconfig-mode: "0644"\n')).kind, 'reconfigure');
  assert.is(decide(desired, running(desired.version, `${desired.config}\n`)).kind, 'unchanged');
  // a half-done install: the binary and config are there, install.sh's work is not
  const half = (extra: Partial<HostFacts>) => decide(desired, running(desired.version, desired.config, extra));
  assert.equal(half({ services: { server: { unit: false, active: false }, agent: { unit: false, active: false } } }), {
    kind: 'repair',
    reason: 'install.sh did not finish: no k3s.service',
  });
  assert.equal(half({ uninstallers: { server: false, agent: false } }), {
    kind: 'repair',
    reason: 'install.sh did not finish: no /usr/local/bin/k3s-uninstall.sh',
  });
  assert.equal(half({ services: { server: { unit: true, active: false, startedAt: 2_000 }, agent: { unit: false, active: false } } }), {
    kind: 'repair',
    reason: 'k3s is not running',
  });
  // the wanted binary, but the service started before it was put there: still the old k3s
  assert.is(half({ binaryChangedAt: 3_000 }).kind, 'restart');
  assert.is(decide({ ...desired, role: 'agent' }, running(desired.version, desired.config)).kind, 'repair', 'the agent unit is what counts on a worker');
});

test('k3s --version output and installer environment', () => {
  assert.is(parseK3sVersion('k3s version v1.33.5+k3s1 (8f3d1c2e)\ngo version go1.24.6\n'), 'v1.33.5+k3s1');
  assert.is(parseK3sVersion('sh: k3s: not found'), undefined);
  assert.equal(installerEnv('server', 'v1.33.5+k3s1', { airgap: true }), {
    INSTALL_K3S_VERSION: 'v1.33.5+k3s1',
    INSTALL_K3S_EXEC: 'server',
    INSTALL_K3S_SKIP_DOWNLOAD: 'true',
    // install.sh compares hashes of binary, unit and env before and after; the upload came first
    INSTALL_K3S_FORCE_RESTART: 'true',
  });
  assert.equal(installerEnv('agent', 'v1.33.5+k3s1', { airgap: false }), { INSTALL_K3S_VERSION: 'v1.33.5+k3s1', INSTALL_K3S_EXEC: 'agent' });
});

test.run();

const spark = {
  arch: 'aarch64',
  os: 'ubuntu 24.04',
  cores: 20,
  memoryBytes: 128 * 2 ** 30,
  diskFreeBytes: 3500 * 2 ** 30,
  nvidiaRuntime: true,
  portsInUse: [] as number[],
};

const preflight = suite('preflight');

preflight('a DGX Spark passes, and its NVIDIA runtime is reported', async () => {
  const { judge } = await import('../lib/k3s/preflight.js');
  const verdict = judge(spark);
  assert.equal([verdict.ok, verdict.warnings, verdict.problems], [true, [], []]);
  assert.match(verdict.summary, 'aarch64, ubuntu 24.04, 20 cores, 128 GiB, 3500 GiB free, NVIDIA container runtime (k3s offers runtime class "nvidia")');
});

preflight('other architectures warn; small hosts and busy ports fail unless k3s holds them', async () => {
  const { judge } = await import('../lib/k3s/preflight.js');
  const x86 = judge({ ...spark, arch: 'x86_64', nvidiaRuntime: false });
  assert.is(x86.ok, true);
  assert.match(x86.warnings[0]!, 'architecture x86_64, not aarch64');
  const small = judge({ ...spark, cores: 2, memoryBytes: 4 * 2 ** 30 });
  assert.equal(small.problems, ['2 cores, fewer than the 4 the platform reserves', '4.0 GiB memory, less than 8 GiB']);
  assert.equal(judge({ ...spark, portsInUse: [443, 6443] }).problems, ['ports 443, 6443 already in use by something other than k3s']);
  assert.equal(judge({ ...spark, portsInUse: [6443], k3sVersion: 'v1.33.5+k3s1' }).problems, []);
});

preflight.run();
