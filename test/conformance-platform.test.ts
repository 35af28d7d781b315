import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { runCli } from './fixtures/cli.js';
import { chartSource, conformanceAvailable, documents, helm, helmTemplate } from './fixtures/conformance.js';
import { type FakeGitea, startFakeGiteaOn } from './fixtures/fake-gitea.js';
import { type FakeKube, startFakeKube } from './fixtures/fake-kube.js';
import { writeKubeconfig } from './fixtures/kubeconfig.js';
import { startRedis } from './fixtures/redis.js';

const test = suite('conformance: bootstrap on a helm-controller that installs what a real helm renders');
const available = conformanceAvailable('conformance platform');
/** Without the assets every test is reported skipped. */
const it = available ? test : test.skip;
const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet'];

let dir: string;
let helmBinary: string;
const started: { close(): Promise<void> }[] = [];

async function world(): Promise<{ kube: FakeKube; gitea: FakeGitea; config: string }> {
  const kube = await startFakeKube();
  kube.controllers.knobs.render = (source) => helmTemplate(helmBinary, source);
  const gitea = await startFakeGiteaOn(kube);
  started.push(kube, gitea);
  const config = join(dir, `config-${started.length}.yaml`);
  writeFileSync(config, stringify({ gitea: { url: gitea.url }, platform: { timeoutSeconds: 20, pollSeconds: 0.05 } }));
  return { kube, gitea, config };
}

const bootstrap = (kube: FakeKube, config: string, args: string[] = []) =>
  runCli(['bootstrap', '--skip', 'preflight,k3s', '--kubeconfig', writeKubeconfig(dir, kube), ...args], { env: { RAIBID_CONFIG: config } });

test.before(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'raibid-conformance-platform-'));
  helmBinary = await helm();
});
test.after(async () => {
  await Promise.all(started.map((s) => s.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('bootstrap installs the four real charts, waits for their real workloads, and a re-run changes nothing', async () => {
  const { kube, config } = await world();
  const result = await bootstrap(kube, config);
  assert.is(result.code, 0, result.stderr + result.stdout);
  for (const chart of ['Redis (Valkey)', 'KEDA', 'Gitea', 'Flux']) assert.match(result.stdout, `${chart} (`);
  // what helm rendered is what the cluster holds: the waits ran on these names
  const charts = kube.store.all().filter((o) => o.kind === 'HelmChart');
  const expected = charts
    .flatMap((chart) => {
      const source = chartSource(chart as never);
      return documents(helmTemplate(helmBinary, source))
        .filter((o) => WORKLOADS.includes(o.kind) && !o.metadata.annotations?.['helm.sh/hook'])
        .map((o) => `${o.kind} ${o.metadata.namespace ?? source.targetNamespace}/${o.metadata.name}`);
    })
    .sort();
  const actual = kube.store
    .all()
    .filter((o) => WORKLOADS.includes(o.kind) && o.metadata.name !== 'raibid-serve')
    .map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)
    .sort();
  assert.equal(actual, expected);
  assert.ok(expected.includes('Deployment keda/keda-operator-metrics-apiserver'), expected.join(', '));
  // the CRDs the agents and Flux objects need came from the charts themselves
  for (const crd of [
    'scaledjobs.keda.sh',
    'triggerauthentications.keda.sh',
    'gitrepositories.source.toolkit.fluxcd.io',
    'kustomizations.kustomize.toolkit.fluxcd.io',
  ]) {
    assert.ok(kube.store.find('CustomResourceDefinition', undefined, crd), crd);
  }
  assert.ok(kube.store.find('ScaledJob', 'raibid', 'raibid-agent'));
  const writes = kube.writes.length;
  const again = await bootstrap(kube, config);
  assert.is(again.code, 0, again.stderr);
  assert.equal(kube.writes.slice(writes), []);
});

it('a real workload that never becomes available is named in the timeout', async () => {
  const { kube, config } = await world();
  kube.controllers.knobs.stuck.add('keda-operator-metrics-apiserver');
  writeFileSync(config, stringify({ gitea: { url: 'http://127.0.0.1:1' }, platform: { timeoutSeconds: 2, pollSeconds: 0.05 } }));
  const result = await bootstrap(kube, config, ['--only', 'platform']);
  assert.is(result.code, 1);
  assert.match(result.stderr, 'chart keda: not ready after 2 s, waiting for Deployment keda/keda-operator-metrics-apiserver: 0 of 1 replicas available');
});

it("the workstation's port-forward finds the real Valkey pod by its labels", async () => {
  const { kube, config } = await world();
  const result = await bootstrap(kube, config, ['--only', 'platform']);
  assert.is(result.code, 0, result.stderr);
  const redis = await startRedis();
  started.push({ close: () => redis.stop() });
  await redis.client().config('SET', 'requirepass', kube.secretValue('raibid', 'raibid-redis', 'password')!);
  const pods = kube.store.list(kube.store.typeOf('v1', 'Pod')!, 'raibid').filter((p) => p.metadata.name.startsWith('raibid-redis-'));
  assert.is(pods.length, 1);
  kube.forwards.set(`raibid/${pods[0]!.metadata.name}`, redis.port);
  const status = await runCli(['status', '--json'], { env: { RAIBID_CONFIG: config, KUBECONFIG: writeKubeconfig(dir, kube), RAIBID_REDIS_URL: undefined } });
  assert.is(status.code, 0, status.stderr);
  assert.is(JSON.parse(status.stdout).queue.lag, 0);
});

test.run();
