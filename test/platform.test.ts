import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { runCli } from './fixtures/cli.js';
import { type FakeGitea, startFakeGiteaOn } from './fixtures/fake-gitea.js';
import { type FakeKube, startFakeKube } from './fixtures/fake-kube.js';
import type { KubeObject } from './fixtures/fake-kube-store.js';
import { writeKubeconfig } from './fixtures/kubeconfig.js';
import { startRedis } from './fixtures/redis.js';

const test = suite('platform on a cluster of ones own (fake Kubernetes API and Gitea)');
let dir: string;
let kube: FakeKube;
let gitea: FakeGitea;
const extra: { close(): Promise<void> }[] = [];

function configFile(name: string, overrides: Record<string, unknown> = {}, url = gitea.url): string {
  const file = join(dir, `${name}.yaml`);
  const platform = { timeoutSeconds: 10, pollSeconds: 0.05, ...((overrides.platform as object | undefined) ?? {}) };
  writeFileSync(file, stringify({ gitea: { url, ...((overrides.gitea as object | undefined) ?? {}) }, ...overrides, platform }));
  return file;
}

async function bootstrap(on: FakeKube, config: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  return runCli(['bootstrap', '--skip', 'preflight,k3s', '--kubeconfig', writeKubeconfig(dir, on), ...args], { env: { RAIBID_CONFIG: config, ...env } });
}

const jobOf = (on: FakeKube, chart: string) => on.store.find('Job', 'kube-system', `helm-install-${chart}`);

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-platform-'));
  kube = await startFakeKube();
  gitea = await startFakeGiteaOn(kube);
});
test.after(async () => {
  await Promise.all([kube.close(), gitea.close(), ...extra.map((x) => x.close())]);
  rmSync(dir, { recursive: true, force: true });
});

test('the platform comes up on an existing cluster; secrets are generated, used by reference, never printed', async () => {
  const result = await bootstrap(kube, configFile('base'));
  assert.is(result.code, 0, result.stderr + result.stdout);
  const redis = kube.secretValue('raibid', 'raibid-redis', 'password')!;
  const admin = kube.secretValue('raibid', 'raibid-gitea-admin', 'password')!;
  const webhook = kube.secretValue('raibid', 'raibid-webhook', 'secret')!;
  const token = kube.secretValue('raibid', 'raibid-gitea-token', 'token')!;
  assert.ok(redis.length >= 32 && admin.length >= 32 && webhook.length >= 32, 'generated, long');
  assert.is(kube.secretValue('raibid', 'raibid-redis', 'url'), `redis://:${redis}@raibid-redis.raibid.svc.cluster.local:6379`);
  for (const value of [redis, admin, webhook, token]) {
    assert.not.ok(result.stdout.includes(value) || result.stderr.includes(value), 'no secret in the output');
  }
  const charts = kube.store.all().filter((o) => o.kind === 'HelmChart');
  assert.equal(charts.map((c) => c.metadata.name).sort(), ['flux2', 'gitea', 'keda', 'raibid-redis']);
  for (const value of [redis, admin, webhook, token]) assert.not.ok(JSON.stringify(charts).includes(value), 'no secret in a HelmChart');
  assert.equal(kube.store.managers('HelmChart', 'kube-system', 'gitea'), ['raibid-task'], 'server-side apply as raibid-task');
  assert.equal(kube.store.managers('ScaledJob', 'raibid', 'raibid-agent'), ['raibid-task']);
  // Gitea: the token is scoped and works; the webhook is system-wide with the cluster's secret
  const kept = gitea.tokens.find((t) => t.name === 'raibid-task')!;
  assert.is(kept.sha1, token);
  assert.equal(kept.scopes, ['write:admin', 'write:organization', 'write:repository', 'write:user']);
  // agents and Flux read with a token of its own that can only read repositories
  const read = gitea.tokens.find((t) => t.name === 'raibid-read')!;
  assert.equal(read.scopes, ['read:repository']);
  assert.is(kube.secretValue('raibid', 'raibid-gitea-read', 'token'), read.sha1);
  assert.is(kube.secretValue('flux-system', 'raibid-flux-git', 'password'), read.sha1);
  assert.is(gitea.hooks.length, 1);
  assert.equal(
    [gitea.hooks[0]!.config.url, gitea.hooks[0]!.events, gitea.hooks[0]!.system, gitea.hooks[0]!.secret],
    ['http://raibid-serve.raibid.svc.cluster.local:8080/hooks/gitea', ['push'], true, webhook],
  );
  assert.ok(gitea.orgs.has('raibid'));
});

test('the config repo is seeded over git HTTP with what Flux syncs, and Flux points at it', async () => {
  const clone = join(dir, 'clone');
  const token = kube.secretValue('raibid', 'raibid-gitea-token', 'token')!;
  const header = `Authorization: Basic ${Buffer.from(`raibid-admin:${token}`).toString('base64')}`;
  // not execFileSync: the fake Gitea answers from this process
  await promisify(execFile)('git', ['-c', `http.extraHeader=${header}`, 'clone', '--quiet', `${gitea.url}/raibid/cluster-config.git`, clone]);
  const kustomization = parse(readFileSync(join(clone, 'kustomization.yaml'), 'utf8'));
  assert.equal(kustomization.resources, ['flux-sync.yaml']);
  assert.is(parse(readFileSync(join(clone, 'flux-sync.yaml'), 'utf8')).kind, 'ConfigMap');
  assert.is(execFileSync('git', ['-C', clone, 'branch', '--show-current'], { encoding: 'utf8' }).trim(), 'main');
  const source = kube.store.find('GitRepository', 'flux-system', 'cluster-config')!;
  assert.equal(source.spec, {
    url: 'http://gitea-http.raibid.svc.cluster.local:3000/raibid/cluster-config.git',
    ref: { branch: 'main' },
    interval: '1m',
    timeout: '60s',
    secretRef: { name: 'raibid-flux-git' },
  });
  assert.is((kube.store.find('Kustomization', 'flux-system', 'cluster-config')!.spec as { sourceRef: { name: string } }).sourceRef.name, 'cluster-config');
});

test('a re-run changes nothing, keeps every secret, and leaves the seeded repo alone', async () => {
  const config = configFile('base');
  const before = { writes: kube.writes.length, gitea: gitea.requests.length, redis: kube.secretValue('raibid', 'raibid-redis', 'password') };
  const again = await bootstrap(kube, config);
  assert.is(again.code, 0, again.stderr);
  assert.equal(kube.writes.slice(before.writes), []);
  assert.equal(
    gitea.requests.slice(before.gitea).filter((r) => r.method !== 'GET'),
    [],
  );
  assert.is(kube.secretValue('raibid', 'raibid-redis', 'password'), before.redis);
  for (const chart of ['Redis (Valkey)', 'KEDA', 'Gitea', 'Flux'])
    assert.match(again.stdout, new RegExp(`${chart.replace(/[()]/g, '\\$&')} \\([^)]*\\): unchanged`));
});

test("from the workstation, dispatch and status reach the cluster's Redis through a port-forward", async () => {
  const redis = await startRedis();
  extra.push({ close: () => redis.stop() });
  const password = kube.secretValue('raibid', 'raibid-redis', 'password')!;
  const admin = redis.client();
  await admin.config('SET', 'requirepass', password);
  const pod = kube.store.list(kube.store.typeOf('v1', 'Pod')!, 'raibid', 'app.kubernetes.io/instance=raibid-redis')[0]!;
  kube.forwards.set(`raibid/${pod.metadata.name}`, redis.port);
  const env = { RAIBID_CONFIG: configFile('base'), KUBECONFIG: writeKubeconfig(dir, kube), RAIBID_REDIS_URL: undefined };
  const dispatched = await runCli(['dispatch', '--repo', 'http://gitea/raibid/app.git', '--ref', 'main', '--json'], { env });
  assert.is(dispatched.code, 0, dispatched.stderr);
  assert.is(await admin.xlen('raibid:jobs'), 1, "the job is in the cluster's Redis");
  const status = await runCli(['status', '--json'], { env });
  assert.is(status.code, 0, status.stderr);
  assert.is(JSON.parse(status.stdout).queue.lag, 1, 'status read the same queue');
  assert.ok(kube.requests.includes(`GET /api/v1/namespaces/raibid/pods/${pod.metadata.name}/portforward`));
  assert.not.match(dispatched.stdout + dispatched.stderr + status.stdout + status.stderr, password);
  // the same world, healthy: doctor passes every check
  kube.setNode({ name: 'spark-1', ready: true });
  const doctor = await runCli(['doctor', '--json'], { env: { ...env, GITEA_TOKEN: kube.secretValue('raibid', 'raibid-gitea-token', 'token') } });
  const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
  assert.is(doctor.code, 0, doctor.stdout);
  assert.equal(
    report.checks.map((c) => c.name),
    [
      'kubeconfig',
      'nodes Ready',
      'chart raibid-redis',
      'chart keda',
      'chart gitea',
      'chart flux2',
      'pods healthy',
      'agents ScaledJob',
      'Redis reachable, AOF on',
      'queue',
      'Gitea API and token',
    ],
  );
  assert.match(report.checks.find((c) => c.name === 'Redis reachable, AOF on')!.detail, 'appendonly yes, appendfsync always');
  assert.is(report.checks.find((c) => c.name === 'queue')!.detail, '1 waiting, 0 running, 0 dead');
});

test('a changed value re-installs only that chart, waiting for its new install Job', async () => {
  const oldJob = jobOf(kube, 'gitea')!.metadata.uid;
  const redisJob = jobOf(kube, 'raibid-redis')!.metadata.uid;
  const result = await bootstrap(kube, configFile('bigger', { gitea: { storage: '40Gi' } }), ['--only', 'platform']);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, 'Gitea (gitea 12.4.0): configured, ready');
  assert.is.not(jobOf(kube, 'gitea')!.metadata.uid, oldJob, 'a new helm-install Job ran');
  assert.is(jobOf(kube, 'raibid-redis')!.metadata.uid, redisJob);
  assert.match(String((kube.store.find('HelmChart', 'kube-system', 'gitea')!.spec as { valuesContent: string }).valuesContent), 'size: 40Gi');
});

test('a re-run with new agent settings keeps the builds KEDA is running (gradual rollout)', async () => {
  const scaledJob = kube.store.find('ScaledJob', 'raibid', 'raibid-agent')!;
  // a Job as KEDA starts one per waiting entry (keda pkg/scaling/executor/scale_jobs.go)
  kube.store.put(kube.store.typeOf('batch/v1', 'Job')!, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: 'raibid-agent-7xk2p',
      namespace: 'raibid',
      labels: { 'scaledjob.keda.sh/name': 'raibid-agent' },
      annotations: { 'scaledjob.keda.sh/generation': String(scaledJob.metadata.generation) },
    },
    spec: { template: { spec: { containers: [{ name: 'agent', image: 'rust:1-bookworm' }] } } },
    status: { active: 1 },
  });
  const result = await bootstrap(kube, configFile('more-agents', { agents: { max: 12 } }), ['--only', 'agents']);
  assert.is(result.code, 0, result.stderr);
  const after = kube.store.find('ScaledJob', 'raibid', 'raibid-agent')!;
  assert.is(after.metadata.generation, Number(scaledJob.metadata.generation) + 1, 'the spec changed');
  assert.ok(kube.store.find('Job', 'raibid', 'raibid-agent-7xk2p'), 'the running build was not deleted');
  const back = await bootstrap(kube, configFile('base'), ['--only', 'agents']);
  assert.is(back.code, 0, back.stderr);
});

test('a hook to our URL that Gitea keeps as a default (not system) hook is replaced by a system one', async () => {
  // as a POST without config.is_system_webhook made it (a top-level is_system_webhook is no field
  // of CreateHookOption, and Gitea drops it): a default hook
  const token = kube.secretValue('raibid', 'raibid-gitea-token', 'token')!;
  const wrong = await fetch(`${gitea.url}/api/v1/admin/hooks`, {
    method: 'POST',
    headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      type: 'gitea',
      config: { url: 'http://raibid-serve.raibid.svc.cluster.local:8080/hooks/gitea', content_type: 'json', secret: 'x' },
      events: ['push'],
      active: true,
    }),
  });
  assert.is(wrong.status, 201);
  assert.equal(
    gitea.hooks.map((h) => h.system),
    [true, false],
  );
  const result = await bootstrap(kube, configFile('base'), ['--only', 'gitea']);
  assert.is(result.code, 0, result.stderr);
  assert.equal(
    gitea.hooks.map((h) => h.system),
    [true],
    'the default hook is gone, the system one kept',
  );
});

test('a webhook secret given in the environment replaces the old one in the cluster and in Gitea', async () => {
  const result = await bootstrap(kube, configFile('base'), ['--only', 'platform,gitea'], { RAIBID_WEBHOOK_SECRET: 'rotated-webhook-secret-0123456789' });
  assert.is(result.code, 0, result.stderr);
  assert.is(kube.secretValue('raibid', 'raibid-webhook', 'secret'), 'rotated-webhook-secret-0123456789');
  assert.is(gitea.hooks.length, 1);
  assert.is(gitea.hooks[0]!.secret, 'rotated-webhook-secret-0123456789');
  // Gitea's PATCH never changes a secret (routers/api/v1/utils/hook.go editHook): the hook is made again
  assert.match(result.stdout, 'push webhook to http://raibid-serve.raibid.svc.cluster.local:8080/hooks/gitea made again with the new secret');
  assert.is(gitea.hooks[0]!.system, true);
  assert.not.match(result.stdout, 'rotated-webhook-secret');
});

test("a chart whose helm fails is reported at its first failed try, with the tail of its pod's log; the others still finish", async () => {
  const fresh = await startFakeKube();
  extra.push(fresh);
  const log = Array.from({ length: 30 }, (_, i) => `helm line ${i + 1}`)
    .concat('Error: INSTALLATION FAILED: chart "keda" version "2.18.1" not found')
    .join('\n');
  fresh.controllers.knobs.outcomes.set('keda', { fail: log });
  // helm-controller restarts a failing helm in the same pod (OnFailure) and fails the Job only past its backoffLimit
  const result = await bootstrap(fresh, configFile('patient', { platform: { timeoutSeconds: 60 } }), ['--only', 'platform']);
  assert.is(result.code, 1);
  assert.ok(result.ms < 15_000, `reported after ${result.ms} ms, not at the 60 s timeout`);
  assert.match(
    result.stderr,
    /chart keda: helm-install-keda failed \(its pod kube-system\/helm-install-keda-\w+: helm exited with code 1\); last lines of its log:/,
  );
  assert.match(result.stderr, 'Error: INSTALLATION FAILED: chart "keda" version "2.18.1" not found');
  assert.match(result.stderr, 'helm line 12');
  assert.not.match(result.stderr, 'helm line 11\n', 'only the tail');
  assert.match(result.stderr, 'the install Job runs in kube-system: kubectl -n kube-system logs job/helm-install-keda');
  assert.is((jobOf(fresh, 'gitea')?.status as { succeeded?: number } | undefined)?.succeeded, 1, 'Gitea went on installing');
  assert.is((jobOf(fresh, 'keda')!.spec as { backoffLimit: number }).backoffLimit, 3, "our backOffLimit, not helm-controller's 1000");
});

test('a chart past its backoffLimit: the Failed Job is reported even with its pod gone, and a re-run starts it again', async () => {
  const fresh = await startFakeKube();
  extra.push(fresh);
  fresh.controllers.knobs.outcomes.set('gitea', { fail: 'Error: boom' });
  const job = await new Promise<KubeObject>((resolve) => {
    const timer = setInterval(() => {
      const found = jobOf(fresh, 'gitea');
      if ((found?.status as { failed?: number } | undefined)?.failed) resolve((clearInterval(timer), found!));
    }, 20);
    void bootstrap(fresh, configFile('short', { platform: { timeoutSeconds: 1 } }), ['--only', 'platform']);
  });
  assert.equal((job.status as { conditions: { reason: string }[] }).conditions[0]!.reason, 'BackoffLimitExceeded');
  assert.is(fresh.store.list(fresh.store.typeOf('v1', 'Pod')!, 'kube-system', 'job-name=helm-install-gitea').length, 0, 'the Job controller removed its pod');
  const doctor = await runCli(['doctor', '--kubeconfig', writeKubeconfig(dir, fresh)], {
    env: { RAIBID_CONFIG: configFile('short', { platform: { timeoutSeconds: 1 } }), RAIBID_REDIS_URL: 'redis://127.0.0.1:1' },
  });
  assert.match(doctor.stdout, 'FAIL chart gitea: helm-install-gitea failed (its pod is gone)');

  // the cause fixed, a re-run deletes the Failed Job of the unchanged chart; helm-controller starts a new one
  fresh.controllers.knobs.outcomes.delete('gitea');
  const again = await bootstrap(fresh, configFile('patient', { platform: { timeoutSeconds: 30 } }), ['--only', 'platform']);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, 'Gitea (gitea 12.4.0): configured, ready');
  assert.is.not(jobOf(fresh, 'gitea')!.metadata.uid, job.metadata.uid);
  assert.is((jobOf(fresh, 'gitea')!.status as { succeeded?: number }).succeeded, 1);
});

test('a workload that never becomes available: the stage times out naming what it waited for', async () => {
  const fresh = await startFakeKube();
  extra.push(fresh);
  fresh.controllers.knobs.stuck.add('gitea');
  const result = await bootstrap(fresh, configFile('short', { platform: { timeoutSeconds: 1 } }), ['--only', 'platform']);
  assert.is(result.code, 1);
  assert.match(result.stderr, 'chart gitea: not ready after 1 s, waiting for Deployment raibid/gitea: 0 of 1 replicas available');
  assert.match(result.stderr, 'platform.timeoutSeconds');
  const doctor = await runCli(['doctor', '--kubeconfig', writeKubeconfig(dir, fresh)], {
    env: { RAIBID_CONFIG: configFile('short', { platform: { timeoutSeconds: 1 } }), RAIBID_REDIS_URL: 'redis://127.0.0.1:1' },
  });
  assert.is(doctor.code, 1);
  assert.match(doctor.stdout, 'FAIL chart gitea: waiting for Deployment raibid/gitea: 0 of 1 replicas available');
  assert.match(doctor.stdout, 'fix: raibid-task bootstrap --only platform');
  assert.match(doctor.stdout, 'ok   chart keda: installed, workloads available');
  assert.match(doctor.stdout, 'FAIL Redis reachable, AOF on: cannot reach Redis at redis://127.0.0.1:1');
  assert.match(doctor.stdout, /\d+ of \d+ checks failed/);
});

test('agents before KEDA is installed: a clear error with the stage to run', async () => {
  const fresh = await startFakeKube();
  extra.push(fresh);
  const result = await bootstrap(fresh, configFile('base'), ['--only', 'agents']);
  assert.is(result.code, 1);
  assert.match(result.stderr, 'namespaces "raibid" not found');
  assert.match(result.stderr, 'run `raibid-task bootstrap --only platform` first');
});

test('Gitea that never answers: the setup gives up naming the URL', async () => {
  gitea.up = false;
  const result = await bootstrap(kube, configFile('short', { platform: { timeoutSeconds: 1 } }), ['--only', 'gitea']);
  gitea.up = true;
  assert.is(result.code, 1);
  assert.match(result.stderr, `Gitea at ${gitea.url}: not ready after 1 s, waiting for an answer (last: Gitea answered 503`);
});

test('a cluster that is not k3s gets helm-controller first, then the same HelmCharts', async () => {
  const kubeadm = await startFakeKube({ distribution: 'kubeadm' });
  const ownGitea = await startFakeGiteaOn(kubeadm);
  extra.push(kubeadm, ownGitea);
  const result = await bootstrap(kubeadm, configFile('kubeadm', {}, ownGitea.url));
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.match(result.stdout, 'no helmcharts.helm.cattle.io on this cluster (not k3s?): installing helm-controller on its own');
  const controller = kubeadm.store.find('Deployment', 'kube-system', 'helm-controller')!;
  assert.match(JSON.stringify(controller.spec), 'rancher/helm-controller:v0.16.18');
  for (const chart of ['raibid-redis', 'keda', 'gitea', 'flux2']) assert.is((jobOf(kubeadm, chart)?.status as { succeeded?: number }).succeeded, 1, chart);
  assert.ok(kubeadm.store.find('ScaledJob', 'raibid', 'raibid-agent'));
  const again = await bootstrap(kubeadm, configFile('kubeadm', {}, ownGitea.url));
  assert.is(again.code, 0, again.stderr);
  assert.not.match(again.stdout, 'installing helm-controller');
});

test('--dry-run talks to no cluster and prints no secret', async () => {
  const writes = kube.writes.length;
  const requests = kube.requests.length;
  const result = await bootstrap(kube, configFile('base'), ['--dry-run'], { GITEA_ADMIN_PASSWORD: 'given-admin-password-xyz' });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, 'would install chart keda: keda 2.18.1 into keda');
  assert.match(result.stdout, 'would apply GitRepository flux-system/cluster-config');
  assert.not.match(result.stdout, 'given-admin-password-xyz');
  assert.is(kube.writes.length, writes);
  assert.is(kube.requests.length, requests);
  assert.not.ok(existsSync(join(dir, 'nothing')));
});

test.run();
