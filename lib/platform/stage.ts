import { createHash } from 'node:crypto';
import type { V1Job } from '@kubernetes/client-node';
import type { ListrTask } from 'listr2';
import type { Config, Secrets } from '../config.js';
import { UserError, failure } from '../errors.js';
import { setupGitea } from '../gitea/setup.js';
import { type ApplyOutcome, type Manifest, applyAll, applyObject, describeObject, formatSummary, readObject } from '../kube/apply.js';
import type { Cluster } from '../kube/client.js';
import { rolloutPending, type Workload } from '../kube/rollout.js';
import { installFailed, installJobName, waitForChart } from '../kube/wait.js';
import { pollUntil } from '../poll.js';
import { agentBundle, renderAgents } from './agents.js';
import { type ChartSpec, CHART_PINS, renderCharts, requiredGiteaUrl } from './charts.js';
import { FLUX_CHECK, configRepoSeed } from './config-repo.js';
import { renderFlux } from './flux.js';
import { HELM_CHART_CRD, renderHelmController } from './helm-controller.js';
import { CHART_NAMESPACE, CONFIG_REPO, DISPATCH_HOOK_URL, FLUX_NAMESPACE, NAMESPACE, SECRETS } from './names.js';
import { namespaces } from './render.js';
import { type PlatformSecrets, choosePlatformSecrets, renderSecrets, secret } from './secrets.js';
import { renderServe } from './serve.js';

import type { PlatformStep } from '../stages.js';
export { PLATFORM_STEPS, type PlatformStep } from '../stages.js';

export interface PlatformOptions {
  config: Config;
  given: Secrets;
  cluster: () => Promise<Cluster>;
  dryRun: boolean;
  say: (line: string) => void;
  pollMs: number;
}

const CHART_TITLES: Record<ChartSpec['key'], string> = { redis: 'Redis (Valkey)', keda: 'KEDA', gitea: 'Gitea', flux: 'Flux' };

async function readSecret(cluster: Cluster, name: string, namespace: string): Promise<Record<string, string> | undefined> {
  const found = (await readObject(cluster, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace } })) as
    { data?: Record<string, string> } | undefined;
  return found && Object.fromEntries(Object.entries(found.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

async function existingSecrets(cluster: Cluster): Promise<Partial<PlatformSecrets>> {
  const [redis, admin, webhook] = await Promise.all([
    readSecret(cluster, SECRETS.redis, NAMESPACE),
    readSecret(cluster, SECRETS.giteaAdmin, NAMESPACE),
    readSecret(cluster, SECRETS.webhook, NAMESPACE),
  ]);
  return { redisPassword: redis?.password, giteaAdminPassword: admin?.password, webhookSecret: webhook?.secret };
}

/** A cluster without k3s's HelmChart CRD gets helm-controller on its own first, which then serves it. */
async function ensureHelmController(cluster: Cluster, options: PlatformOptions): Promise<boolean> {
  const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: HELM_CHART_CRD } };
  if (await readObject(cluster, crd)) return false;
  options.say(`no ${HELM_CHART_CRD} on this cluster (not k3s?): installing helm-controller on its own`);
  const manifests = renderHelmController();
  await applyAll(cluster, manifests);
  const deployment = manifests.find((m) => m.kind === 'Deployment')!;
  await pollUntil('helm-controller', { timeoutMs: options.config.platform.timeoutSeconds * 1000, pollMs: options.pollMs }, async () => {
    const object = (await readObject(cluster, deployment)) as Workload | undefined;
    const pending = object ? rolloutPending(object) : 'its Deployment';
    if (pending) return `Deployment ${CHART_NAMESPACE}/helm-controller: ${pending}`;
    return (await readObject(cluster, crd)) ? undefined : `the CRD ${HELM_CHART_CRD}`;
  });
  return true;
}

function applyLines(manifests: Manifest[]): string[] {
  return manifests.map((m) => `would apply ${describeObject(m)}`);
}

/**
 * Applies one HelmChart and waits for its install Job and its workloads. A changed chart waits for
 * the Job helm-controller makes anew; an unchanged one whose last install failed gets its Job
 * deleted, which helm-controller answers with a fresh one.
 */
async function installChart(api: Cluster, chart: ChartSpec, options: PlatformOptions, progress: (line: string) => void): Promise<ApplyOutcome> {
  const name = chart.manifest.metadata.name;
  const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: installJobName(name), namespace: CHART_NAMESPACE } };
  const previous = (await readObject(api, job)) as V1Job | undefined;
  const failedBefore = previous !== undefined && (await installFailed(api, previous));
  const outcome = await applyObject(api, chart.manifest);
  if (failedBefore && outcome === 'unchanged') {
    progress(`the last install failed; starting it again`);
    await api.objects.delete(job, undefined, undefined, undefined, undefined, 'Background');
  }
  progress(`${outcome}; waiting for ${installJobName(name)} and the workloads`);
  await waitForChart(
    api,
    { name, namespace: CHART_NAMESPACE, targetNamespace: chart.targetNamespace },
    {
      timeoutMs: options.config.platform.timeoutSeconds * 1000,
      pollMs: options.pollMs,
      staleJobUid: outcome === 'configured' || failedBefore ? previous?.metadata?.uid : undefined,
    },
  );
  return outcome === 'unchanged' && failedBefore ? 'configured' : outcome;
}

function chartTask(chart: ChartSpec, options: PlatformOptions, cluster: () => Promise<Cluster>): ListrTask {
  const pin = CHART_PINS[chart.key];
  const title = `${CHART_TITLES[chart.key]} (${pin.chart} ${pin.version})`;
  return {
    title,
    task: async (_, task) => {
      const outcome = await installChart(await cluster(), chart, options, (line) => (task.output = line));
      task.title = `${title}: ${outcome === 'unchanged' ? 'unchanged' : `${outcome}, ready`}`;
    },
  };
}

function platformTask(options: PlatformOptions): ListrTask {
  const charts = renderCharts(options.config);
  return {
    title: 'Platform: Redis, KEDA, Gitea, Flux',
    task: (_, task) => {
      if (options.dryRun) {
        for (const line of applyLines([
          ...namespaces(),
          ...renderSecrets(
            options.config,
            choosePlatformSecrets({}, {}, () => ''),
          ),
        ]))
          options.say(line);
        for (const c of charts)
          options.say(
            `would install chart ${c.manifest.metadata.name}: ${CHART_PINS[c.key].chart} ${CHART_PINS[c.key].version} into ${c.targetNamespace}, and wait for it`,
          );
        return;
      }
      let api: Cluster | undefined;
      const cluster = async () => (api ??= await options.cluster());
      return task.newListr(
        [
          {
            title: 'Namespaces and Secrets',
            task: async (_, sub) => {
              const c = await cluster();
              const helmController = await ensureHelmController(c, options);
              const secrets = choosePlatformSecrets(options.given, await existingSecrets(c));
              const summary = await applyAll(c, [...namespaces(), ...renderSecrets(options.config, secrets)]);
              sub.title = `Namespaces and Secrets: ${formatSummary(summary)}${helmController ? '; helm-controller installed' : ''}`;
            },
          },
          {
            title: 'Charts',
            task: async (_, sub) => {
              // all four install at once; one failing does not stop the others' waits
              const installs = sub.newListr(
                charts.map((chart) => chartTask(chart, options, cluster)),
                { concurrent: true, exitOnError: false, collectErrors: 'minimal' },
              );
              await installs.run();
              const failures = installs.errors.map((e) => e.error);
              if (failures.length === 1) throw failures[0];
              if (failures.length > 1) throw failure(failures.map((f) => f.message).join('\n'), (failures[0] as UserError).hint);
              sub.title = `Charts: ${charts.length} ready`;
            },
          },
        ],
        { concurrent: false, exitOnError: true },
      );
    },
  };
}

function giteaTask(options: PlatformOptions): ListrTask {
  const { config } = options;
  return {
    title: 'Gitea setup',
    task: async (_, task) => {
      const url = requiredGiteaUrl(config);
      if (options.dryRun) {
        options.say(
          `would wait for Gitea at ${url}, create the tokens ${config.gitea.adminUser}/raibid-task and raibid-read (agents and Flux read with it), org ${config.gitea.org}, repo ${config.gitea.org}/${CONFIG_REPO} (seeded while empty) and a push webhook to ${DISPATCH_HOOK_URL}`,
        );
        return;
      }
      const cluster = await options.cluster();
      const [admin, webhook, kept, keptRead] = await Promise.all([
        readSecret(cluster, SECRETS.giteaAdmin, NAMESPACE),
        readSecret(cluster, SECRETS.webhook, NAMESPACE),
        readSecret(cluster, SECRETS.giteaToken, NAMESPACE),
        readSecret(cluster, SECRETS.giteaRead, NAMESPACE),
      ]);
      if (!admin?.password || !webhook?.secret)
        throw failure('Gitea setup: the platform Secrets are missing', 'run `raibid-task bootstrap --only platform` first');
      const hookHash = createHash('sha256').update(webhook.secret).digest('hex').slice(0, 16);
      const result = await setupGitea({
        url,
        admin: { username: admin.username ?? config.gitea.adminUser, password: admin.password },
        token: kept?.token,
        readToken: keptRead?.token,
        org: config.gitea.org,
        repo: CONFIG_REPO,
        seed: configRepoSeed(),
        hook: { url: DISPATCH_HOOK_URL, secret: webhook.secret, rotated: kept?.hook !== hookHash },
        timeoutMs: config.platform.timeoutSeconds * 1000,
        pollMs: options.pollMs,
      });
      const summary = await applyAll(cluster, [
        secret(SECRETS.giteaToken, NAMESPACE, { token: result.token, hook: hookHash }),
        secret(SECRETS.giteaRead, NAMESPACE, { token: result.readToken }),
        secret(SECRETS.fluxGit, FLUX_NAMESPACE, { username: admin.username ?? config.gitea.adminUser, password: result.readToken }),
      ]);
      const changed = [...result.changes, ...(summary.created + summary.configured > 0 ? ['token Secrets written'] : [])];
      task.title = `Gitea setup at ${url}: ${changed.length > 0 ? changed.join(', ') : 'unchanged'}`;
    },
  };
}

function applyTask(title: string, render: () => Manifest[], options: PlatformOptions, hint: string): ListrTask {
  return {
    title,
    task: async (_, task) => {
      const manifests = render();
      if (options.dryRun) {
        for (const line of applyLines(manifests)) options.say(line);
        return;
      }
      try {
        task.title = `${title}: ${formatSummary(await applyAll(await options.cluster(), manifests))}`;
      } catch (error) {
        // a kind not served yet, or the namespace missing: the platform stage has not run
        if (
          error instanceof UserError &&
          /Unrecognized API version and kind|Failed to fetch resource metadata|namespaces "[^"]+" not found/.test(error.message)
        ) {
          throw failure(error.message, hint);
        }
        throw error;
      }
    },
  };
}

/** The platform's bootstrap steps: charts (waited for), Gitea through its API, Flux's sync objects, the agents. */
export function platformSteps(options: PlatformOptions): Record<PlatformStep, ListrTask> {
  return {
    platform: platformTask(options),
    gitea: giteaTask(options),
    flux: applyTask(
      `Flux syncing ${options.config.gitea.org}/${CONFIG_REPO} (check: ConfigMap ${NAMESPACE}/${FLUX_CHECK})`,
      () => renderFlux(options.config),
      options,
      'Flux or its namespace is not there yet: run `raibid-task bootstrap --only platform` first',
    ),
    agents: applyTask(
      `Agents (KEDA ScaledJob, up to ${options.config.agents.max}) and the webhook receiver`,
      () => [...renderAgents(options.config, agentBundle()), ...renderServe(options.config)],
      options,
      'KEDA or the raibid namespace is not there yet: run `raibid-task bootstrap --only platform` first',
    ),
  };
}
