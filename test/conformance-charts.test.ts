import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import type { Manifest } from '../lib/kube/apply.js';
import { GITEA_HTTP_SERVICE, REDIS_HOST, REDIS_PORT, RELEASES, SECRETS } from '../lib/platform/names.js';
import { runCli } from './fixtures/cli.js';
import { type ChartSource } from './fixtures/fake-kube-controllers.js';
import { chartSource, conformanceAvailable, documents, helm, helmTemplate, helmVersion } from './fixtures/conformance.js';

const test = suite('conformance: every chart rendered by a real helm against its pinned archive');
const available = conformanceAvailable('conformance charts');
/** Without the assets every test is reported skipped. */
const it = available ? test : test.skip;

type Rendered = { source: ChartSource; objects: Manifest[] };
const rendered = new Map<string, Rendered>();
let secrets: Manifest[] = [];
let ours: Manifest[] = [];
let dir: string;
const failures: string[] = [];

const CONFIGS = {
  // an address: the ingress routes every host name; two nodes
  address: { host: { address: '10.0.0.5' }, nodes: [{ address: '10.0.0.6' }], agents: { gpu: true } },
  named: { gitea: { url: 'https://git.spark.lan' }, github: { apiUrl: 'https://ghe.office.lan/api/v3' } },
  ipv6: { gitea: { url: 'http://[fd00::5]:3000' } },
};

async function renderConfig(name: string, config: object): Promise<Manifest[]> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  const result = await runCli(['render'], { env: { RAIBID_CONFIG: file } });
  assert.is(result.code, 0, result.stderr);
  return documents(result.stdout);
}

const of = (objects: Manifest[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const podSpec = (workload: Manifest) => (workload.spec as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }).template;
interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; secret?: { secretName: string; items?: { key: string }[] } }[];
}

test.before(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'raibid-conformance-'));
  const helmBinary = await helm();
  for (const [name, config] of Object.entries(CONFIGS)) {
    const objects = await renderConfig(name, config);
    for (const chart of objects.filter((o) => o.kind === 'HelmChart')) {
      const source = chartSource(chart);
      let output: string;
      try {
        output = helmTemplate(helmBinary, source);
      } catch (error) {
        failures.push(`helm template ${source.release} (${name} config) failed: ${String((error as { stderr?: string }).stderr ?? error).trim()}`);
        continue;
      }
      rendered.set(`${name}/${source.release}`, { source, objects: documents(output) });
    }
    if (name === 'address') {
      secrets = objects.filter((o) => o.kind === 'Secret');
      ours = objects;
    }
  }
});
test.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const charts = (config = 'address') => [...rendered].filter(([key]) => key.startsWith(`${config}/`)).map(([, r]) => r);
const chart = (release: string, config = 'address') => rendered.get(`${config}/${release}`)!;

it('helm renders every HelmChart of every config; what it renders validates as Kubernetes objects', async () => {
  assert.match(await helmVersion(), /^v3\./);
  assert.equal(failures, []);
  assert.is(rendered.size, 4 * Object.keys(CONFIGS).length);
  for (const { source, objects } of rendered.values()) {
    assert.ok(objects.length > 0, source.release);
    for (const object of objects) {
      const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
      const models = (await import(`kubernetes-models/${group ? `${group}/` : ''}${version}`)) as Record<string, new (o: unknown) => { validate(): void }>;
      const Model = models[object.kind];
      assert.ok(Model, `a model for ${object.apiVersion} ${object.kind} (${source.release})`);
      try {
        new Model(object).validate();
      } catch (error) {
        assert.unreachable(`${source.release}: ${object.kind} ${object.metadata.name}: ${(error as Error).message}`);
      }
    }
  }
});

it('the Services the agents, KEDA, the port-forward, Flux and Gitea setup reach exist with their ports and select the pods', () => {
  const reach = (address: string, release: string) => {
    const [host, port] = address.split(':');
    const [service, namespace] = host!.split('.');
    const { source, objects } = chart(release);
    assert.is(source.targetNamespace, namespace, `${address}: the chart's namespace`);
    const svc = of(objects, 'Service', service!);
    assert.ok(svc, `Service ${namespace}/${service} in ${release}`);
    const spec = svc!.spec as { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] };
    const servicePort = spec.ports.find((p) => p.port === Number(port));
    assert.ok(servicePort, `${service} serves port ${port}`);
    // an empty targetPort is the port itself (the API server's default)
    const target = servicePort!.targetPort ?? servicePort!.port;
    const pods = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind)).map(podSpec);
    const selected = pods.filter((pod) => Object.entries(spec.selector).every(([k, v]) => pod.metadata.labels[k] === v));
    assert.is(selected.length, 1, `${service} selects one workload's pods`);
    const ports = selected[0]!.spec.containers.flatMap((c) => c.ports ?? []);
    assert.ok(
      ports.some((p) => p.name === target || p.containerPort === target),
      `${service}'s targetPort ${target} is a container port`,
    );
    return selected[0]!;
  };
  const redis = reach(`${REDIS_HOST}:${REDIS_PORT}`, RELEASES.redis);
  // the workstation's port-forward finds the Redis pod by this label (lib/platform/redis-access.ts)
  assert.is(redis.metadata.labels['app.kubernetes.io/instance'], RELEASES.redis);
  reach(GITEA_HTTP_SERVICE, RELEASES.gitea);
  // Gitea setup and users reach Gitea through its ingress
  for (const config of Object.keys(CONFIGS)) {
    const ingress = of(chart(RELEASES.gitea, config).objects, 'Ingress', 'gitea')!;
    const rules = (ingress.spec as { rules: { host?: string; http: { paths: { backend: { service: { name: string; port: { number: number } } } }[] } }[] })
      .rules;
    assert.equal(
      rules.map((r) => r.http.paths[0]!.backend.service),
      [{ name: 'gitea-http', port: { number: 3000 } }],
      config,
    );
    assert.equal(
      rules.map((r) => r.host ?? ''),
      [config === 'named' ? 'git.spark.lan' : ''],
      `${config}: host`,
    );
  }
});

it('every Secret a chart reads from outside itself is one bootstrap writes, with the keys it reads', () => {
  for (const { source, objects } of charts()) {
    const own = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name));
    const pods = objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)).map((w) => podSpec(w).spec);
    const refs = pods.flatMap((pod) => [
      ...[...pod.containers, ...(pod.initContainers ?? [])]
        .flatMap((c) => c.env ?? [])
        .flatMap((e) => (e.valueFrom?.secretKeyRef ? [{ name: e.valueFrom.secretKeyRef.name, keys: [e.valueFrom.secretKeyRef.key] }] : [])),
      ...(pod.volumes ?? []).flatMap((v) => (v.secret ? [{ name: v.secret.secretName, keys: (v.secret.items ?? []).map((i) => i.key) }] : [])),
    ]);
    const expected = Object.values(SECRETS) as string[];
    const given = expected.filter((name) => source.valuesContent.includes(name));
    for (const name of given)
      assert.ok(
        refs.some((r) => r.name === name),
        `${source.release} was given Secret ${name} and reads it`,
      );
    // the rest (KEDA's kedaorg-certs, made by its operator) are not ours to write
    for (const ref of refs.filter((r) => !own.has(r.name) && expected.includes(r.name))) {
      const secret = secrets.find((s) => s.metadata.name === ref.name && s.metadata.namespace === source.targetNamespace);
      assert.ok(secret, `${source.release} reads Secret ${source.targetNamespace}/${ref.name}, which bootstrap does not write`);
      for (const key of ref.keys) assert.ok(key in (secret!.stringData as object), `${source.release} reads key ${key} of ${ref.name}`);
    }
  }
  // Valkey's init reads /valkey-users-secret/<passwordKey> from the mounted raibid-redis Secret
  const values = parse(chart(RELEASES.redis).source.valuesContent) as {
    auth: { usersExistingSecret: string; aclUsers: Record<string, { passwordKey: string }> };
  };
  const users = secrets.find((s) => s.metadata.name === values.auth.usersExistingSecret)!;
  for (const user of Object.values(values.auth.aclUsers)) assert.ok(user.passwordKey in (users.stringData as object), user.passwordKey);
  const init =
    of(chart(RELEASES.redis).objects, 'ConfigMap', `${RELEASES.redis}-init-scripts`) ??
    chart(RELEASES.redis).objects.find((o) => o.kind === 'ConfigMap' && JSON.stringify(o.data).includes('valkey-users-secret'));
  assert.match(JSON.stringify(init?.data), '/valkey-users-secret/$password_key');
});

/** A Secret as a volume presents it: each key a symlink into ..data (what the chart's `find -type l` expects). */
function secretVolume(root: string, data: Record<string, string>): void {
  mkdirSync(join(root, '..2026_12_01'), { recursive: true });
  for (const [key, value] of Object.entries(data)) writeFileSync(join(root, '..2026_12_01', key), value);
  symlinkSync('..2026_12_01', join(root, '..data'));
  for (const key of Object.keys(data)) symlinkSync(join('..data', key), join(root, key));
}

/** Runs the Gitea chart's config_environment.sh as its init-app-ini container does; returns the GITEA__ variables it exported. */
function giteaInitEnvironment(objects: Manifest[]): { code: number; env: Record<string, string>; output: string } {
  const work = mkdtempSync(join(tmpdir(), 'raibid-gitea-init-'));
  try {
    const scripts = of(objects, 'Secret', 'gitea')!.stringData as Record<string, string>;
    secretVolume(join(work, 'mounts', 'inlines'), of(objects, 'Secret', 'gitea-inline-config')!.stringData as Record<string, string>);
    mkdirSync(join(work, 'bin'));
    writeFileSync(join(work, 'bin', 'gitea'), '#!/bin/sh\necho generated-secret\n');
    writeFileSync(join(work, 'bin', 'environment-to-ini'), `#!/bin/sh\nenv | grep '^GITEA__' > "${join(work, 'exported')}"\n`);
    chmodSync(join(work, 'bin', 'gitea'), 0o755);
    chmodSync(join(work, 'bin', 'environment-to-ini'), 0o755);
    writeFileSync(join(work, 'config_environment.sh'), scripts['config_environment.sh']!);
    try {
      const output = execFileSync('bash', [join(work, 'config_environment.sh')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: `${join(work, 'bin')}:/usr/bin:/bin`,
          TMP_EXISTING_ENVS_FILE: join(work, 'existing-envs'),
          ENV_TO_INI_MOUNT_POINT: join(work, 'mounts'),
          GITEA_APP_INI: join(work, 'app.ini'),
        },
      });
      const env = Object.fromEntries(
        readFileSync(join(work, 'exported'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      return { code: 0, env, output };
    } catch (error) {
      const e = error as { status: number; stdout: string; stderr: string };
      return { code: e.status, env: {}, output: e.stdout + e.stderr };
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

it("Gitea's init container accepts every config line we send (its config_environment.sh under bash -euo pipefail)", async () => {
  for (const config of Object.keys(CONFIGS)) {
    const result = giteaInitEnvironment(chart(RELEASES.gitea, config).objects);
    assert.is(result.code, 0, `${config}: ${result.output}`);
    assert.is(result.env.GITEA__DATABASE__DB_TYPE, 'sqlite3');
    assert.is(result.env.GITEA__MIRROR__DEFAULT_INTERVAL, '480m');
    assert.is(result.env.GITEA__PACKAGES__ENABLED, 'true');
    assert.is(result.env.GITEA__MIGRATIONS__ALLOW_LOCALNETWORKS, config === 'named' ? 'true' : 'false');
    assert.is(result.env.GITEA__WEBHOOK__ALLOWED_HOST_LIST, 'private,loopback,external');
  }
  // the check can fail: the dotted cron key we once sent stops the pod from ever starting
  const { source } = chart(RELEASES.gitea);
  const values = parse(source.valuesContent) as { gitea: { config: Record<string, unknown> } };
  values.gitea.config.cron = { 'update_mirrors.SCHEDULE': '@every 10m' };
  const broken = giteaInitEnvironment(documents(helmTemplate(await helm(), { ...source, valuesContent: stringify(values) })));
  assert.is.not(broken.code, 0);
  assert.match(broken.output, 'not a valid identifier');
});

/** A CRD's schema as the API server applies it, with unknown fields refused instead of pruned (a misspelt field fails here). */
function strictSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...schema };
  if (schema.properties && schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  for (const key of ['properties'] as const) {
    if (schema[key])
      out[key] = Object.fromEntries(Object.entries(schema[key] as Record<string, Record<string, unknown>>).map(([k, v]) => [k, strictSchema(v)]));
  }
  if (schema.items) out.items = strictSchema(schema.items as Record<string, unknown>);
  if (typeof schema.additionalProperties === 'object') out.additionalProperties = strictSchema(schema.additionalProperties as Record<string, unknown>);
  return out;
}

it('our KEDA and Flux objects validate against the CRDs those charts install (unknown fields refused)', () => {
  const crds = charts()
    .flatMap((c) => c.objects)
    .filter((o) => o.kind === 'CustomResourceDefinition');
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  const checked: string[] = [];
  for (const object of ours.filter((o) => ['keda.sh', 'source.toolkit.fluxcd.io', 'kustomize.toolkit.fluxcd.io'].includes(o.apiVersion.split('/')[0]!))) {
    const [group, version] = object.apiVersion.split('/');
    const crd = crds.find(
      (c) => (c.spec as { group: string; names: { kind: string } }).group === group && (c.spec as { names: { kind: string } }).names.kind === object.kind,
    );
    assert.ok(crd, `the charts install a CRD for ${object.apiVersion} ${object.kind}`);
    const served = (crd!.spec as { versions: { name: string; served: boolean; schema: { openAPIV3Schema: Record<string, unknown> } }[] }).versions.find(
      (v) => v.name === version && v.served,
    );
    assert.ok(served, `${object.apiVersion} is served`);
    const schema = strictSchema(served!.schema.openAPIV3Schema);
    const validate = ajv.compile({ ...schema, properties: { ...(schema.properties as object), metadata: { type: 'object' } } });
    const { apiVersion, kind, metadata, spec } = object;
    assert.ok(validate({ apiVersion, kind, metadata, spec }), `${kind} ${metadata.name}: ${ajv.errorsText(validate.errors)}`);
    checked.push(kind);
  }
  assert.equal(checked.sort(), ['GitRepository', 'Kustomization', 'ScaledJob', 'TriggerAuthentication']);
  const scaledJob = ours.find((o) => o.kind === 'ScaledJob')!;
  assert.is((scaledJob.spec as { rollout: { strategy: string } }).rollout.strategy, 'gradual');
});

test.run();
