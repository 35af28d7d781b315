import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1';
import { ScaledJob, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Ajv } from 'ajv';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../lib/config.js';
import type { Manifest } from '../lib/kube/apply.js';
import { renderHelmController } from '../lib/platform/helm-controller.js';
import { REDIS_HOST } from '../lib/platform/names.js';
import { renderAll, selectGroup } from '../lib/platform/render.js';
import { choosePlatformSecrets } from '../lib/platform/secrets.js';
import { runCli } from './fixtures/cli.js';
import { HELM_CHART_SCHEMA } from './fixtures/helmchart-crd.js';

const test = suite('render: every platform object, validated');

const MODELS: Record<string, { validate(): void } & (new (o: never) => { validate(): void })> = {
  Namespace,
  Secret,
  ConfigMap,
  PersistentVolumeClaim,
  ServiceAccount,
  Service,
  Ingress,
  Deployment,
  ClusterRoleBinding,
  ScaledJob,
  TriggerAuthentication,
  GitRepository,
  Kustomization,
} as never;
const validateHelmChart = new Ajv({ strict: false }).compile(HELM_CHART_SCHEMA);

function validate(manifest: Manifest): void {
  if (manifest.kind === 'HelmChart') {
    assert.ok(validateHelmChart(manifest), `${manifest.metadata.name}: ${JSON.stringify(validateHelmChart.errors)}`);
    return;
  }
  const Model = MODELS[manifest.kind];
  assert.ok(Model, `a model for ${manifest.kind}`);
  new Model(manifest as never).validate();
}

const config = parseConfig({ host: { address: '10.0.0.5' }, agents: { gpu: true } }, 'test');
const secrets = choosePlatformSecrets({}, {}, () => 'S3cr3t-value-that-must-not-leak');
const valuesOf = (rendered: ReturnType<typeof renderAll>, key: string) =>
  parse(String((rendered.charts.find((c) => c.key === key)!.manifest.spec as { valuesContent: string }).valuesContent));

test('every object validates: Kubernetes, KEDA and Flux models, HelmCharts against the CRD schema', () => {
  const all = [...selectGroup(renderAll(config, secrets, 'QlVORExF'), undefined), ...renderHelmController()];
  assert.ok(all.length >= 17, `${all.length} objects`);
  for (const manifest of all) validate(manifest);
});

test('charts: pinned versions, values that mirroring, the queue and the agents rely on', () => {
  const rendered = renderAll(config, secrets, 'x');
  assert.equal(
    rendered.charts.map((c) => [c.manifest.metadata.name, c.targetNamespace]),
    [
      ['raibid-redis', 'raibid'],
      ['keda', 'keda'],
      ['gitea', 'raibid'],
      ['flux2', 'flux-system'],
    ],
  );
  const redis = valuesOf(rendered, 'redis');
  assert.is(`${redis.fullnameOverride}.raibid.svc.cluster.local`, REDIS_HOST, 'the Service the agents and KEDA dial');
  assert.match(redis.valkeyConfig, 'appendonly yes\nappendfsync always');
  assert.equal(redis.auth.usersExistingSecret, 'raibid-redis');
  const gitea = valuesOf(rendered, 'gitea');
  assert.equal(
    [gitea['postgresql-ha'].enabled, gitea['valkey-cluster'].enabled, gitea.gitea.config.database.DB_TYPE, gitea.strategy.type],
    [false, false, 'sqlite3', 'Recreate'],
  );
  assert.equal(gitea.gitea.admin.existingSecret, 'raibid-gitea-admin');
  assert.is(gitea.gitea.config.server.ROOT_URL, 'http://10.0.0.5/');
  assert.equal(
    gitea.ingress.hosts,
    [{ host: '', paths: [{ path: '/', pathType: 'Prefix' }] }],
    'an address: every host name routes to Gitea (the chart needs a string)',
  );
  assert.is(gitea.gitea.config.cron, undefined, "Gitea's own mirror schedule (@every 10m); a dotted key breaks its init container");
  assert.is(gitea.gitea.config.migrations.ALLOW_LOCALNETWORKS, false, 'github.com: no private addresses');
  for (const chart of rendered.charts) assert.is((chart.manifest.spec as { backOffLimit?: number }).backOffLimit, 3, chart.manifest.metadata.name);
  assert.is(gitea.gitea.config.packages.ENABLED, true);
  assert.is(gitea.gitea.config.mirror.DEFAULT_INTERVAL, '480m');
  assert.match(gitea.gitea.config.webhook.ALLOWED_HOST_LIST, 'private');
  const named = valuesOf(renderAll(parseConfig({ gitea: { url: 'https://git.spark.lan' } }, 't'), secrets, 'x'), 'gitea');
  assert.equal(named.ingress.hosts[0].host, 'git.spark.lan');
  for (const url of ['http://[fd00::5]:3000', 'http://localhost:3000']) {
    assert.is(valuesOf(renderAll(parseConfig({ gitea: { url } }, 't'), secrets, 'x'), 'gitea').ingress.hosts[0].host, '', url);
  }
  const enterprise = valuesOf(renderAll(parseConfig({ github: { apiUrl: 'https://ghe.office.lan/api/v3' } }, 't'), secrets, 'x'), 'gitea');
  assert.is(enterprise.gitea.config.migrations.ALLOW_LOCALNETWORKS, true, 'a GitHub Enterprise on the LAN can be mirrored');
  const flux = valuesOf(rendered, 'flux');
  assert.equal([flux.helmController.create, flux.imageAutomationController.create], [false, false]);
});

test('GPU agents run with the nvidia runtime class', () => {
  const scaledJob = renderAll(config, secrets, 'x').agents.find((m) => m.kind === 'ScaledJob') as unknown as {
    spec: { jobTargetRef: { template: { spec: { runtimeClassName?: string } } } };
  };
  assert.is(scaledJob.spec.jobTargetRef.template.spec.runtimeClassName, 'nvidia');
  const cpuOnly = renderAll(parseConfig({}, 't'), secrets, 'x').agents.find((m) => m.kind === 'ScaledJob') as unknown as typeof scaledJob;
  assert.is(cpuOnly.spec.jobTargetRef.template.spec.runtimeClassName, undefined);
});

test('agents: node:24 runtime, a cache on every node they run on, spread across the nodes, running builds kept on a spec change', () => {
  const twoNodes = parseConfig({ host: { address: '10.0.0.5' }, nodes: [{ address: '10.0.0.6' }], agents: { max: 8 } }, 't');
  const rendered = renderAll(twoNodes, secrets, 'x');
  const scaledJob = rendered.agents.find((m) => m.kind === 'ScaledJob') as unknown as {
    spec: { maxReplicaCount: number; rollout: { strategy: string }; jobTargetRef: { template: { spec: unknown } } };
  };
  const pod = scaledJob.spec.jobTargetRef.template.spec as {
    initContainers: { image: string }[];
    volumes: { name: string; hostPath?: { path: string; type: string }; persistentVolumeClaim?: unknown }[];
    topologySpreadConstraints: { topologyKey: string; maxSkew: number; labelSelector: { matchLabels: Record<string, string> } }[];
    affinity?: unknown;
    nodeSelector?: unknown;
  };
  assert.is(scaledJob.spec.rollout.strategy, 'gradual');
  assert.equal((scaledJob.spec as unknown as { scalingStrategy: unknown }).scalingStrategy, { strategy: 'accurate', pendingPodConditions: ['Ready'] });
  assert.is(pod.initContainers[0]!.image, 'docker.io/library/node:24-bookworm-slim');
  const serve = rendered.agents.find((m) => m.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
  assert.is(serve.spec.template.spec.containers[0]!.image, 'docker.io/library/node:24-bookworm-slim');
  assert.match(
    JSON.stringify(serve.spec.template.spec.containers[0]),
    'serve --host 0.0.0.0',
    'in the pod it listens beyond loopback (serve defaults to 127.0.0.1)',
  );
  assert.equal(
    pod.volumes.find((v) => v.name === 'cache'),
    { name: 'cache', hostPath: { path: '/var/lib/raibid/cargo-cache', type: 'DirectoryOrCreate' } },
    'each node has its own cache',
  );
  assert.not.ok(
    rendered.agents.some((m) => m.kind === 'PersistentVolumeClaim'),
    'no ReadWriteOnce volume pinning every agent to one node',
  );
  assert.equal(
    pod.topologySpreadConstraints.map((c) => [c.topologyKey, c.maxSkew, c.labelSelector.matchLabels['app.kubernetes.io/name']]),
    [['kubernetes.io/hostname', 1, 'raibid-agent']],
  );
  assert.is(pod.nodeSelector ?? pod.affinity, undefined, 'no node is preferred');
  assert.is(scaledJob.spec.maxReplicaCount, 8);
});

test('no secret value in any HelmChart, Flux or agent object: only Secrets hold them', () => {
  const rendered = renderAll(config, secrets, 'x');
  const outside = [...rendered.charts.map((c) => c.manifest), ...rendered.flux, ...rendered.agents];
  assert.not.match(JSON.stringify(outside), 'S3cr3t');
  assert.match(JSON.stringify(rendered.base), 'S3cr3t', 'the Secrets themselves do hold them');
});

test('`render` prints multi-document YAML that validates, with Secrets redacted', async () => {
  const result = await runCli(['render'], { env: { RAIBID_CONFIG: '', GITEA_ADMIN_PASSWORD: 'given-password-123', RAIBID_REDIS_PASSWORD: 'given-redis-456' } });
  assert.is(result.code, 0, result.stderr);
  const documents = parseAllDocuments(result.stdout).map((d) => d.toJS() as Manifest);
  assert.equal([...new Set(documents.map((d) => d.kind))].sort(), [
    'ConfigMap',
    'Deployment',
    'GitRepository',
    'HelmChart',
    'Ingress',
    'Kustomization',
    'Namespace',
    'ScaledJob',
    'Secret',
    'Service',
    'TriggerAuthentication',
  ]);
  for (const document of documents) validate(document);
  assert.not.match(result.stdout, 'given-password-123');
  assert.not.match(result.stdout, 'given-redis-456');
  for (const s of documents.filter((d) => d.kind === 'Secret')) {
    assert.ok(
      Object.values(s.stringData as Record<string, string>).every((v) => v === '(redacted)'),
      s.metadata.name,
    );
  }
  const agents = await runCli(['render', '--only', 'agents']);
  assert.equal(
    parseAllDocuments(agents.stdout).map((d) => (d.toJS() as Manifest).kind),
    ['ConfigMap', 'ConfigMap', 'TriggerAuthentication', 'ScaledJob', 'ConfigMap', 'Deployment', 'Service', 'Ingress'],
  );
  const bad = await runCli(['render', '--only', 'charts']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, "render: --only 'charts' is not a group");
  assert.match(bad.stderr, 'groups: platform, flux, agents');
});

test("a given Redis password that Valkey's init would hash wrongly is refused before anything happens", async () => {
  // the chart's init_config.yaml: PASSHASH=$(echo -n "$PASSWORD" | sha256sum) under /bin/sh (dash on Debian)
  const hashed = execFileSync('sh', ['-c', 'echo -n "$1" | sha256sum', 'sh', 'pa\\nss'], { encoding: 'utf8' }).split(' ')[0];
  assert.is.not(hashed, createHash('sha256').update('pa\\nss').digest('hex'), 'what the client sends is not what the ACL holds');
  const result = await runCli(['render'], { env: { RAIBID_CONFIG: '', RAIBID_REDIS_PASSWORD: 'pa\\nss-secret' } });
  assert.is(result.code, 2);
  assert.match(result.stderr, 'RAIBID_REDIS_PASSWORD: has a backslash or a line break');
  assert.not.match(result.stderr + result.stdout, 'pa\\nss-secret');
  assert.is(result.stdout, '');
});

test.run();
