import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { makeAirgap } from './fixtures/airgap.js';
import { runCli } from './fixtures/cli.js';
import { type FakeGitea, startFakeGiteaOn } from './fixtures/fake-gitea.js';
import { type FakeKube, startFakeKube } from './fixtures/fake-kube.js';
import { type SshHost, startSshd } from './fixtures/sshd.js';

const test = suite('bootstrap over SSH (k3s stages, fixture hosts)');
let server: SshHost;
let worker: SshHost;
let dir: string;
let kube: FakeKube;
let gitea: FakeGitea;

function env(version = 'v1.33.5+k3s1', readyTimeoutSeconds = 20, serverName = 'spark-1'): NodeJS.ProcessEnv {
  const config = join(dir, `raibid-${version}-${serverName}.yaml`);
  const host = (h: SshHost, name: string) => ({ address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, name });
  writeFileSync(
    config,
    stringify({
      host: host(server, serverName),
      nodes: [host(worker, 'spark-2')],
      k3s: { version, airgap: { dir: makeAirgap(version) }, apiUrl: kube.url, readyTimeoutSeconds },
      ssh: { configFile: server.configFile, knownHostsFile: join(dir, 'known_hosts'), connectTimeoutSeconds: 3 },
      gitea: { url: gitea.url },
      platform: { timeoutSeconds: 20, pollSeconds: 0.05 },
    }),
  );
  return { RAIBID_CONFIG: config, KUBECONFIG: join(dir, 'kube', 'config') };
}

const installed = (h: SshHost) => h.record('installs').length > 0;

test.before(async () => {
  [server, worker, kube] = await Promise.all([startSshd(), startSshd(), startFakeKube()]);
  // the chart creates Gitea's admin from the Secret bootstrap writes
  gitea = await startFakeGiteaOn(kube);
  dir = mkdtempSync(join(tmpdir(), 'raibid-bootstrap-'));
  // where k3s keeps the CA of its API server; the fixture installer puts it into k3s.yaml
  mkdirSync(join(server.root, 'var/lib/rancher/k3s/server/tls'), { recursive: true });
  writeFileSync(join(server.root, 'var/lib/rancher/k3s/server/tls/server-ca.crt'), kube.ca);
  kube.setNode({ name: 'spark-1', ready: true });
  kube.setNode({ name: 'spark-2', ready: true });
});
test.after(async () => {
  await Promise.all([server.stop(), worker.stop(), kube.close(), gitea.close()]);
});

test('bad stage names and a missing host exit 2', async () => {
  const stage = await runCli(['bootstrap', '--only', 'k3s,platfrom'], { env: env() });
  assert.is(stage.code, 2);
  assert.match(stage.stderr, "--only 'platfrom' is not a stage");
  assert.match(stage.stderr, 'stages: preflight, k3s');
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, 'redis: {}\n');
  const nohost = await runCli(['bootstrap'], { env: { RAIBID_CONFIG: empty } });
  assert.is(nohost.code, 2);
  assert.match(nohost.stderr, 'no host in the config');
});

test('preflight reports each host and stops on a host too small for the platform', async () => {
  const result = await runCli(['bootstrap', '--only', 'preflight'], { env: env() });
  const cores = Number(readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 0);
  assert.match(result.stdout, /127\.0\.0\.1: \S+, .*\d+ cores, \d+ GiB/);
  if (cores < 4) {
    assert.is(result.code, 1);
    assert.match(result.stderr, `preflight: 127.0.0.1: ${cores} cores, fewer than the 4 the platform reserves`);
    assert.match(result.stderr, '--skip preflight');
  } else assert.is(result.code, 0, result.stderr);
});

test('--dry-run prints the remote steps and changes nothing', async () => {
  const result = await runCli(['bootstrap', '--skip', 'preflight', '--dry-run'], { env: env() });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, '127.0.0.1 (server): install: k3s v1.33.5+k3s1 is not installed');
  assert.match(result.stdout, 'write /etc/rancher/k3s/config.yaml');
  assert.match(result.stdout, 'INSTALL_K3S_SKIP_DOWNLOAD=true');
  assert.match(result.stdout, 'would merge context raibid');
  assert.match(result.stdout, 'would wait up to 20 s for 2 nodes to be Ready');
  assert.match(result.stdout, 'would install chart gitea: gitea 12.4.0 into raibid');
  assert.match(result.stdout, 'would apply Secret raibid/raibid-redis');
  assert.match(result.stdout, 'would apply ScaledJob raibid/raibid-agent');
  assert.equal([installed(server), installed(worker)], [false, false]);
  assert.equal(kube.writes, [], 'nothing sent to the cluster');
  assert.is(existsSync(join(dir, 'kube', 'config')), false);
});

test('bootstrap installs k3s, then the platform on it; a re-run changes nothing', async () => {
  const first = await runCli(['bootstrap', '--skip', 'preflight'], { env: env() });
  assert.is(first.code, 0, first.stderr + first.stdout);
  for (const chart of ['raibid-redis', 'keda', 'gitea', 'flux2']) {
    const job = kube.store.find('Job', 'kube-system', `helm-install-${chart}`);
    assert.is((job?.status as { succeeded?: number } | undefined)?.succeeded, 1, `${chart} installed`);
  }
  assert.ok(kube.store.find('ScaledJob', 'raibid', 'raibid-agent'), 'agents applied once KEDA served ScaledJobs');
  assert.ok(kube.store.find('GitRepository', 'flux-system', 'cluster-config'), 'Flux sync applied');
  assert.ok(gitea.repos.has('raibid/cluster-config'), 'config repo created in Gitea');
  assert.match(first.stdout, `Gitea: ${gitea.url} (user raibid-admin`);
  assert.match(first.stdout, '(server): install');
  assert.match(first.stdout, '(agent): install');
  const kubeconfig = join(dir, 'kube', 'config');
  assert.is(statSync(kubeconfig).mode & 0o777, 0o600);
  const merged = parse(readFileSync(kubeconfig, 'utf8'));
  assert.is(merged.contexts[0].name, 'raibid');
  assert.is(merged.clusters[0].cluster.server, kube.url, 'pointed at k3s.apiUrl');
  assert.match(first.stdout, 'Nodes Ready: spark-1, spark-2');
  assert.ok(kube.requests.includes('GET /api/v1/nodes'), 'asked the API with the fetched credentials');
  const writes = kube.writes.length;
  const giteaCalls = gitea.requests.length;
  const again = await runCli(['bootstrap', '--skip', 'preflight'], { env: env() });
  assert.is(again.code, 0, again.stderr);
  assert.equal(kube.writes.slice(writes), [], 'no object changed on the cluster');
  assert.equal(
    gitea.requests.slice(giteaCalls).filter((r) => r.method !== 'GET'),
    [],
    'nothing changed in Gitea',
  );
  assert.match(again.stdout, '0 created, 0 configured');
  assert.match(again.stdout, '(server): unchanged');
  assert.match(again.stdout, '(agent): unchanged');
  assert.equal(server.record('installs').length, 1);
  const upgrade = await runCli(['bootstrap', '--only', 'k3s'], { env: env('v1.34.1+k3s1') });
  assert.is(upgrade.code, 0, upgrade.stderr);
  assert.match(upgrade.stdout, '(server): upgrade: k3s v1.33.5+k3s1 → v1.34.1+k3s1');
});

test('a node that does not become Ready fails the wait, naming it and its condition', async () => {
  kube.setNode({ name: 'spark-2', ready: false, reason: 'KubeletNotReady', message: 'cni plugin not initialized' });
  const result = await runCli(['bootstrap', '--only', 'k3s'], { env: env('v1.33.5+k3s1', 1) });
  kube.setNode({ name: 'spark-2', ready: true });
  assert.is(result.code, 1);
  assert.match(result.stderr, 'nodes: not ready after 1 s, waiting for spark-2: Ready=False (KubeletNotReady: cni plugin not initialized)');
  assert.match(result.stderr, 'journalctl');
});

test('a renamed server: the Node left behind by its old name is deleted, so the wait ends', async () => {
  // k3s registers spark-one; spark-1 stops reporting and would stay NotReady for good
  kube.setNode({ name: 'spark-one', ready: true });
  kube.setNode({ name: 'spark-1', ready: false, reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
  const result = await runCli(['bootstrap', '--only', 'k3s'], { env: env('v1.33.5+k3s1', 2, 'spark-one') });
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.match(result.stdout, '(server): reconfigure');
  assert.match(result.stdout, 'deleted the Node spark-1, renamed by this run');
  assert.not.ok(kube.nodes.has('spark-1'));
  assert.match(result.stdout, 'Nodes Ready: spark-2, spark-one');
  kube.setNode({ name: 'spark-1', ready: true });
  const back = await runCli(['bootstrap', '--only', 'k3s'], { env: env('v1.33.5+k3s1', 2, 'spark-1') });
  assert.is(back.code, 0, back.stderr);
  assert.match(back.stdout, 'deleted the Node spark-one, renamed by this run');
  assert.not.ok(kube.nodes.has('spark-one'));
});

test('kubeconfig fetches it again on its own', async () => {
  const file = join(dir, 'other-kubeconfig');
  const result = await runCli(['kubeconfig', '--kubeconfig', file], { env: env() });
  assert.is(result.code, 0, result.stderr);
  assert.is(parse(readFileSync(file, 'utf8'))['current-context'], 'raibid');
});

test('an unreachable host fails within the connect timeout, naming it', async () => {
  const config = join(dir, 'down.yaml');
  writeFileSync(config, stringify({ host: { address: '127.0.0.1', port: 1 }, ssh: { connectTimeoutSeconds: 2, knownHostsFile: join(dir, 'kh') } }));
  const result = await runCli(['bootstrap', '--only', 'k3s'], { env: { RAIBID_CONFIG: config } });
  assert.is(result.code, 1);
  assert.match(result.stderr, 'ssh ubuntu@127.0.0.1:1: unreachable');
  assert.ok(result.ms < 6000, `${result.ms} ms`);
});

test('doctor checks each host over SSH and says what is broken, with a fix', async () => {
  const result = await runCli(['doctor', '--json'], { env: { ...env(), RAIBID_REDIS_URL: 'redis://127.0.0.1:1' } });
  assert.is(result.code, 1, 'Redis is down here');
  const { checks } = JSON.parse(result.stdout) as { checks: { name: string; ok: boolean; detail: string; hint?: string }[] };
  const named = (name: string) => checks.filter((c) => c.name === name);
  assert.equal(
    named('127.0.0.1: ssh and sudo').map((c) => [c.ok, c.detail]),
    [
      [true, 'k3s v1.33.5+k3s1'],
      [true, 'k3s v1.33.5+k3s1'],
    ],
  );
  assert.equal(
    named('127.0.0.1: k3s service').map((c) => c.detail),
    ['active'],
  );
  assert.equal(
    named('127.0.0.1: k3s-agent service').map((c) => c.detail),
    ['active'],
  );
  assert.is(named('127.0.0.1: free disk').length, 2);
  assert.ok(named('nodes Ready')[0]!.ok);
  const redis = named('Redis reachable, AOF on')[0]!;
  assert.equal([redis.ok, redis.hint], [false, 'set redis.url, or check the platform (bootstrap --only platform)']);
});

test('teardown: --dry-run lists it all in reverse order; without a terminal it needs --yes', async () => {
  const writes = kube.writes.length;
  const dry = await runCli(['teardown', '--dry-run'], { env: env() });
  assert.is(dry.code, 0, dry.stderr);
  const order = [
    'Agents and the webhook receiver:',
    'Flux:',
    'KEDA:',
    'Redis:',
    'Gitea:',
    'Secrets and namespaces:',
    '127.0.0.1 (agent): would run /usr/local/bin/k3s-agent-uninstall.sh',
    '127.0.0.1 (server): would run /usr/local/bin/k3s-uninstall.sh',
  ];
  const at = order.map((line) => dry.stdout.indexOf(line));
  assert.ok(
    at.every((i, n) => i >= 0 && (n === 0 || i > at[n - 1]!)),
    dry.stdout,
  );
  assert.match(dry.stdout, 'would delete HelmChart kube-system/keda');
  const asked = await runCli(['teardown'], { env: env() });
  assert.is(asked.code, 2);
  assert.match(asked.stderr, 'pass --yes');
  assert.is(kube.writes.length, writes, 'nothing removed');
  assert.ok(kube.store.find('ScaledJob', 'raibid', 'raibid-agent'));
});

test('teardown --yes removes the platform, then k3s on the worker and the server; a second run finishes quietly', async () => {
  const result = await runCli(['teardown', '--yes'], { env: env() });
  assert.is(result.code, 0, result.stderr + result.stdout);
  for (const [kind, ns, name] of [
    ['ScaledJob', 'raibid', 'raibid-agent'],
    ['HelmChart', 'kube-system', 'gitea'],
    ['HelmChart', 'kube-system', 'keda'],
    ['Namespace', undefined, 'raibid'],
    ['GitRepository', 'flux-system', 'cluster-config'],
  ] as const) {
    assert.not.ok(kube.store.find(kind, ns, name), `${kind} ${name} deleted`);
  }
  assert.ok(result.stdout.indexOf('ScaledJob raibid/raibid-agent deleted') < result.stdout.indexOf('HelmChart kube-system/keda deleted'));
  // its progress list, as plain lines without a terminal: a line as each step ends
  assert.match(result.stdout, /^✔ KEDA: 1 deleted$/m);
  assert.match(result.stdout, /^✔ k3s: 2 hosts$/m);
  assert.equal(worker.record('uninstalls'), ['agent']);
  assert.equal(server.record('uninstalls'), ['server']);
  assert.not.ok(installed(server) && existsSync(join(server.root, 'usr/local/bin/k3s')), 'k3s removed');
  const again = await runCli(['teardown', '--yes'], { env: env() });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, 'HelmChart kube-system/gitea already gone');
  assert.match(again.stdout, '127.0.0.1 (server): k3s not installed');
});

test.run();
