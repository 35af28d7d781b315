import { createHash } from 'node:crypto';
import type { V1Job } from '@kubernetes/client-node';
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
import type { Step } from '../steps.js';
export { PLATFORM_STEPS, type PlatformStep } from '../stages.js';

export interface PlatformContext {
  config: Config;
  given: Secrets;
  /** The cluster, reached on first use. */
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
async function ensureHelmController(cluster: Cluster, context: PlatformContext): Promise<boolean> {
  const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: HELM_CHART_CRD } };
  if (await readObject(cluster, crd)) return false;
  context.say(`no ${HELM_CHART_CRD} on this cluster (not k3s?): installing helm-controller on its own`);
  const manifests = renderHelmController();
  await applyAll(cluster, manifests);
  const deployment = manifests.find((m) => m.kind === 'Deployment')!;
  await pollUntil('helm-controller', { timeoutMs: context.config.platform.timeoutSeconds * 1000, pollMs: context.pollMs }, async () => {
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
async function installChart(api: Cluster, chart: ChartSpec, context: PlatformContext, progress: (line: string) => void): Promise<ApplyOutcome> {
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
      timeoutMs: context.config.platform.timeoutSeconds * 1000,
      pollMs: context.pollMs,
      staleJobUid: outcome === 'configured' || failedBefore ? previous?.metadata?.uid : undefined,
    },
  );
  return outcome === 'unchanged' && failedBefore ? 'configured' : outcome;
}

function chartStep(chart: ChartSpec): Step<PlatformContext> {
  const pin = CHART_PINS[chart.key];
  const title = `${CHART_TITLES[chart.key]} (${pin.chart} ${pin.version})`;
  return {
    title,
    run: async (context, report) => {
      const outcome = await installChart(await context.cluster(), chart, context, report);
      return `${title}: ${outcome === 'unchanged' ? 'unchanged' : `${outcome}, ready`}`;
    },
  };
}

const namespacesAndSecrets: Step<PlatformContext> = {
  title: 'Namespaces and Secrets',
  run: async (context) => {
    const cluster = await context.cluster();
    const helmController = await ensureHelmController(cluster, context);
    const secrets = choosePlatformSecrets(context.given, await existingSecrets(cluster));
    const summary = await applyAll(cluster, [...namespaces(), ...renderSecrets(context.config, secrets)]);
    return `Namespaces and Secrets: ${formatSummary(summary)}${helmController ? '; helm-controller installed' : ''}`;
  },
};

const charts: Step<PlatformContext> = {
  title: 'Charts',
  run: async ({ config }) => `Charts: ${renderCharts(config).length} ready`,
  children: ({ config }) => renderCharts(config).map(chartStep),
  concurrent: true,
};

/** What the platform step applies and installs, as --dry-run says it (the Secrets without their values). */
function platformPlan(config: Config): string[] {
  return [
    ...applyLines([
      ...namespaces(),
      ...renderSecrets(
        config,
        choosePlatformSecrets({}, {}, () => ''),
      ),
    ]),
    ...renderCharts(config).map(
      (c) =>
        `would install chart ${c.manifest.metadata.name}: ${CHART_PINS[c.key].chart} ${CHART_PINS[c.key].version} into ${c.targetNamespace}, and wait for it`,
    ),
  ];
}

const platform: Step<PlatformContext> = {
  title: 'Platform: Redis, KEDA, Gitea, Flux',
  run: async (context) => {
    if (context.dryRun) for (const line of platformPlan(context.config)) context.say(line);
  },
  children: (context) => (context.dryRun ? [] : [namespacesAndSecrets, charts]),
};

const gitea: Step<PlatformContext> = {
  title: 'Gitea setup',
  run: async (context) => {
    const { config } = context;
    const url = requiredGiteaUrl(config);
    if (context.dryRun) {
      context.say(
        `would wait for Gitea at ${url}, create the tokens ${config.gitea.adminUser}/raibid-task and raibid-read (agents and Flux read with it), org ${config.gitea.org}, repo ${config.gitea.org}/${CONFIG_REPO} (seeded while empty) and a push webhook to ${DISPATCH_HOOK_URL}`,
      );
      return;
    }
    const cluster = await context.cluster();
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
      pollMs: context.pollMs,
    });
    const summary = await applyAll(cluster, [
      secret(SECRETS.giteaToken, NAMESPACE, { token: result.token, hook: hookHash }),
      secret(SECRETS.giteaRead, NAMESPACE, { token: result.readToken }),
      secret(SECRETS.fluxGit, FLUX_NAMESPACE, { username: admin.username ?? config.gitea.adminUser, password: result.readToken }),
    ]);
    const changed = [...result.changes, ...(summary.created + summary.configured > 0 ? ['token Secrets written'] : [])];
    return `Gitea setup at ${url}: ${changed.length > 0 ? changed.join(', ') : 'unchanged'}`;
  },
};

function applyStep(title: (config: Config) => string, render: (config: Config) => Manifest[], hint: string): Step<PlatformContext> {
  return {
    title: ({ config }) => title(config),
    run: async (context) => {
      const manifests = render(context.config);
      if (context.dryRun) {
        for (const line of applyLines(manifests)) context.say(line);
        return;
      }
      try {
        return `${title(context.config)}: ${formatSummary(await applyAll(await context.cluster(), manifests))}`;
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
export const PLATFORM: Record<PlatformStep, Step<PlatformContext>> = {
  platform,
  gitea,
  flux: applyStep(
    (config) => `Flux syncing ${config.gitea.org}/${CONFIG_REPO} (check: ConfigMap ${NAMESPACE}/${FLUX_CHECK})`,
    renderFlux,
    'Flux or its namespace is not there yet: run `raibid-task bootstrap --only platform` first',
  ),
  agents: applyStep(
    (config) => `Agents (KEDA ScaledJob, up to ${config.agents.max}) and the webhook receiver`,
    (config) => [...renderAgents(config, agentBundle()), ...renderServe(config)],
    'KEDA or the raibid namespace is not there yet: run `raibid-task bootstrap --only platform` first',
  ),
};
