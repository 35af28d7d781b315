import type { V1Pod } from '@kubernetes/client-node';
import { connectHosts } from './bootstrap.js';
import type { LoadedConfig } from './config.js';
import { UserError } from './errors.js';
import { GiteaClient } from './gitea/client.js';
import { readObject } from './kube/apply.js';
import { type Cluster, connectCluster, kubeconfigFromFile } from './kube/client.js';
import { nodeState } from './kube/ready.js';
import { chartPending } from './kube/wait.js';
import { readGitea } from './mirror/reconcile.js';
import { compileRules, targetOrg } from './mirror/select.js';
import { giteaUrl, renderCharts } from './platform/charts.js';
import { CHART_NAMESPACE, FLUX_NAMESPACE, KEDA_NAMESPACE, NAMESPACE } from './platform/names.js';
import { reachRedis } from './platform/redis-access.js';
import { openQueue } from './queue/open.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  hint?: string;
}

const MIN_FREE_GIB = 20;
const K3S_MISSING = 'k3s not installed';

/** The fix for a failed check: fixed, or chosen by the error (an unreachable Gitea needs its URL, not a token). */
type Hint = string | ((error: unknown) => string);

async function check(name: string, hint: Hint, probe: () => Promise<{ ok: boolean; detail: string }>): Promise<Check> {
  try {
    const result = await probe();
    return { name, ...result, ...(result.ok ? {} : { hint: typeof hint === 'string' ? hint : hint(undefined) }) };
  } catch (error) {
    const line = (error as Error).message.split('\n')[0]!;
    return { name, ok: false, detail: line.startsWith(`${name}: `) ? line.slice(name.length + 2) : line, hint: typeof hint === 'string' ? hint : hint(error) };
  }
}

async function hostChecks(loaded: LoadedConfig): Promise<Check[]> {
  if (!loaded.config.host) return [];
  const hosts = connectHosts(loaded.config);
  try {
    const all = [{ host: hosts.server, role: 'server', service: 'k3s' }, ...hosts.workers.map((host) => ({ host, role: 'agent', service: 'k3s-agent' }))];
    return (
      await Promise.all(
        all.map(async ({ host, service }) => {
          const where = host.ssh.target.address;
          const reach = await check(`${where}: ssh and sudo`, 'check host, user and key in the config; `ssh` to it by hand', async () => {
            const facts = await host.facts();
            return { ok: true, detail: facts.version ? `k3s ${facts.version}` : K3S_MISSING };
          });
          if (!reach.ok) return [reach];
          const active =
            reach.detail === K3S_MISSING
              ? { name: `${where}: ${service} service`, ok: false, detail: K3S_MISSING, hint: 'raibid-task bootstrap' }
              : await check(`${where}: ${service} service`, `on the host: systemctl status ${service}; journalctl -u ${service}`, async () => {
                  const state = (await host.ssh.exec(['systemctl', 'is-active', service])).stdout.trim();
                  return { ok: state === 'active', detail: state || 'unknown' };
                });
          const disk = await check(`${where}: free disk`, 'free space under /var/lib (images, volumes, build caches)', async () => {
            const line = (await host.ssh.run(['df', '-Pk', '/var/lib'])).trim().split('\n').pop() ?? '';
            const gib = Number(line.split(/\s+/)[3]) / 1024 / 1024;
            return { ok: gib >= MIN_FREE_GIB, detail: `${gib.toFixed(1)} GiB free${gib < MIN_FREE_GIB ? ` (under ${MIN_FREE_GIB})` : ''}` };
          });
          return [reach, active, disk];
        }),
      )
    ).flat();
  } finally {
    await hosts.close();
  }
}

const unhealthy = (pod: V1Pod) => {
  const waiting = (pod.status?.containerStatuses ?? []).map((c) => c.state?.waiting?.reason).find((r) => r && r !== 'ContainerCreating');
  if (waiting) return waiting;
  return ['Running', 'Succeeded'].includes(pod.status?.phase ?? '') ? undefined : (pod.status?.phase ?? 'Unknown');
};

async function clusterChecks(loaded: LoadedConfig, cluster: Cluster): Promise<Check[]> {
  const { config } = loaded;
  const checks: Check[] = [];
  checks.push(
    await check('nodes Ready', 'on the node: journalctl -u k3s (or k3s-agent)', async () => {
      const nodes = (await cluster.core.listNode()).items.map(nodeState);
      const bad = nodes.filter((n) => !n.ready);
      return {
        ok: nodes.length > 0 && bad.length === 0,
        detail: bad.length ? bad.map((n) => `${n.name}: ${n.problems.join(', ') || 'not Ready'}`).join('; ') : `${nodes.length} Ready`,
      };
    }),
  );
  for (const chart of renderCharts(config)) {
    const name = chart.manifest.metadata.name;
    checks.push(
      await check(`chart ${name}`, 'raibid-task bootstrap --only platform (it waits and says what for)', async () => {
        const pending = await chartPending(cluster, { name, namespace: CHART_NAMESPACE, targetNamespace: chart.targetNamespace }, undefined);
        return { ok: !pending, detail: pending ? `waiting for ${pending}` : 'installed, workloads available' };
      }),
    );
  }
  checks.push(
    await check(
      'pods healthy',
      'each pod is named with its reason; `raibid-task bootstrap --only platform` applies again and says what it waits for',
      async () => {
        const pods = (await Promise.all([NAMESPACE, KEDA_NAMESPACE, FLUX_NAMESPACE].map((namespace) => cluster.core.listNamespacedPod({ namespace })))).flatMap(
          (l) => l.items,
        );
        const bad = pods
          .map((p) => [p, unhealthy(p)] as const)
          .filter(([, why]) => why !== undefined)
          .map(([p, why]) => `${p.metadata?.namespace}/${p.metadata?.name}: ${why}`);
        return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `${pods.length} pods Running` };
      },
    ),
  );
  checks.push(
    await check('agents ScaledJob', 'raibid-task bootstrap --only agents', async () => {
      const scaledJob = (await readObject(cluster, {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledJob',
        metadata: { name: 'raibid-agent', namespace: NAMESPACE },
      })) as { status?: { conditions?: { type: string; status: string; message?: string }[] } } | undefined;
      if (!scaledJob) return { ok: false, detail: 'missing' };
      const ready = scaledJob.status?.conditions?.find((c) => c.type === 'Ready');
      return { ok: !ready || ready.status === 'True', detail: ready ? `Ready=${ready.status}${ready.message ? ` (${ready.message})` : ''}` : 'present' };
    }),
  );
  return checks;
}

async function queueChecks(loaded: LoadedConfig, env: NodeJS.ProcessEnv): Promise<Check[]> {
  let checks: Check[] = [];
  const redis = await check('Redis reachable, AOF on', 'set redis.url, or check the platform (bootstrap --only platform)', async () => {
    const access = await reachRedis(loaded.config, env);
    try {
      const open = await openQueue(loaded.config, 'raibid-doctor', access.url);
      try {
        const persistence = await open.queue.persistence();
        const stats = await open.queue.stats();
        checks = [
          {
            name: 'queue',
            ok: stats.dead === 0,
            detail: `${stats.lag ?? 0} waiting, ${stats.pending} running, ${stats.dead} dead`,
            ...(stats.dead > 0 ? { hint: 'raibid-task jobs list --state dead; jobs retry <id>' } : {}),
          },
        ];
        const aof = persistence?.appendonly === 'yes';
        return { ok: aof, detail: `${access.via}: appendonly ${persistence?.appendonly ?? 'unknown'}, appendfsync ${persistence?.appendfsync ?? 'unknown'}` };
      } finally {
        await open.close();
      }
    } finally {
      await access.close();
    }
  });
  return [redis, ...checks];
}

async function giteaChecks(loaded: LoadedConfig): Promise<Check[]> {
  const url = giteaUrl(loaded.config);
  const token = loaded.secrets.giteaToken;
  if (!url) return [{ name: 'Gitea', ok: false, detail: 'no gitea.url', hint: 'set gitea.url' }];
  const tokenHint = `set GITEA_TOKEN (or a GITEA_TOKEN=… line in ~/.config/raibid/secrets.env, mode 0600) to a token of ${loaded.config.gitea.adminUser}: Gitea → Settings → Applications`;
  const apiHint = (error: unknown) => (error instanceof UserError && error.hint) || tokenHint;
  const api = await check('Gitea API and token', apiHint, async () => {
    if (!token) return { ok: false, detail: `${url} (GITEA_TOKEN not set)` };
    const client = new GiteaClient(url, { token });
    const version = (await client.call('GET /version')).body.version;
    const user = (await client.call('GET /user')).body.login;
    return { ok: true, detail: `${url}: Gitea ${version}, token of ${user}` };
  });
  if (!api.ok || !token) return [api];
  const { mirror } = loaded.config;
  const rules = compileRules(mirror);
  const orgs = [...new Set([...rules.repos.map((r) => targetOrg(rules, r.owner)), ...rules.owners.map((o) => targetOrg(rules, o.name))])];
  if (orgs.length === 0) return [api];
  const fresh = await check('mirrors fresh', 'raibid-task mirror sync (and mirror cron install)', async () => {
    const { repos } = await readGitea(new GiteaClient(url, { token }), orgs);
    const mirrors = repos.filter((r) => r.mirror);
    if (mirrors.length === 0) return { ok: false, detail: 'no mirrors yet' };
    const oldest = mirrors.reduce((a, b) => (Date.parse(a.mirrorUpdated) <= Date.parse(b.mirrorUpdated) ? a : b));
    const ageMinutes = (Date.now() - Date.parse(oldest.mirrorUpdated)) / 60_000;
    return {
      ok: ageMinutes <= 2 * mirror.intervalMinutes,
      detail: `${mirrors.length} mirrors, oldest ${oldest.owner}/${oldest.name} synced ${Math.round(ageMinutes)} min ago`,
    };
  });
  return [api, fresh];
}

/**
 * What to do first when the checks show that nothing is there yet, before any single fix: a farm
 * without a config needs setup, one whose k3s is not installed needs bootstrap.
 */
export function firstStep(loaded: LoadedConfig, checks: Check[]): string | undefined {
  const noCluster = checks.some((c) => c.name === 'kubeconfig' && !c.ok);
  if (!loaded.config.host && (!loaded.path || noCluster)) {
    return `${loaded.path ? 'no host in the config' : 'nothing is set up yet'}: run \`raibid-task setup\` (it asks for the host and writes the config), then \`raibid-task bootstrap\``;
  }
  const k3sMissing = checks.some((c) => c.name.endsWith(': ssh and sudo') && c.detail === K3S_MISSING);
  if (noCluster && k3sMissing) return 'the farm is not installed yet: run `raibid-task bootstrap` (k3s, then the platform and the agents)';
  return undefined;
}

/** Every check, each with a fix hint when it fails; independent, so one failure hides nothing else. */
export async function runDoctor(loaded: LoadedConfig, env: NodeJS.ProcessEnv, kubeconfig: string): Promise<Check[]> {
  const checks = await hostChecks(loaded);
  let cluster: Cluster | undefined;
  const access = await check('kubeconfig', 'raibid-task kubeconfig (or bootstrap)', async () => {
    cluster = connectCluster(kubeconfigFromFile(kubeconfig, loaded.config.k3s.context));
    return { ok: true, detail: `${kubeconfig}, context ${loaded.config.k3s.context}` };
  });
  checks.push(access);
  if (cluster) checks.push(...(await clusterChecks(loaded, cluster)));
  checks.push(...(await queueChecks(loaded, env)), ...(await giteaChecks(loaded)));
  return checks;
}
