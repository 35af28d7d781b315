import type { Config } from './config.js';
import { type Manifest, describeObject, readObject } from './kube/apply.js';
import { type Cluster, apiMessage, isNotFound } from './kube/client.js';
import { failure } from './errors.js';
import { pollUntil } from './poll.js';
import { FLUX_NAMESPACE, NAMESPACE, RELEASES, SECRETS } from './platform/names.js';
import { type Rendered, renderAll } from './platform/render.js';
import { redactedSecrets } from './platform/secrets.js';
import { type HostFacts, type HostRole, K3S_PATHS, SERVICE, UNINSTALL_SCRIPT } from './k3s/plan.js';
import { INSTALLER_PATH, type RemoteHost, type RemoteStep } from './k3s/remote.js';
import { dirname } from 'node:path';

type Ref = Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>;

export interface TeardownGroup {
  title: string;
  /** Deleted in this order; a HelmChart is waited for until helm-controller has uninstalled it. */
  objects: Ref[];
}

const ref = (m: Manifest): Ref => ({
  apiVersion: m.apiVersion,
  kind: m.kind,
  metadata: { name: m.metadata.name, ...(m.metadata.namespace ? { namespace: m.metadata.namespace } : {}) },
});
const pvc = (name: string): Ref => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: NAMESPACE } });
/** Volumes the charts made: Valkey's (named after it), Gitea's (kept by Helm on uninstall). */
const CHART_VOLUMES = { redis: pvc(RELEASES.redis), gitea: pvc('gitea-shared-storage') };

/**
 * What teardown removes from the cluster, in reverse order of bootstrap: agents and the webhook
 * receiver, Flux, KEDA, Redis, Gitea, then Secrets and namespaces. With keepData, volumes, the
 * Secrets that open them and the namespaces that hold them stay.
 */
export function teardownGroups(config: Config, keepData: boolean): TeardownGroup[] {
  const rendered: Rendered = renderAll(config, redactedSecrets(), '');
  const chart = (key: string) => ref(rendered.charts.find((c) => c.key === key)!.manifest);
  const data = (refs: Ref[]) => (keepData ? [] : refs);
  const secretRef = (name: string, namespace: string): Ref => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace } });
  const fluxSecret = secretRef(SECRETS.fluxGit, FLUX_NAMESPACE);
  return [
    {
      title: 'Agents and the webhook receiver',
      objects: rendered.agents
        .map(ref)
        .filter((r) => !keepData || r.kind !== 'PersistentVolumeClaim')
        .reverse(),
    },
    { title: 'Flux', objects: [...rendered.flux.map(ref).reverse(), fluxSecret, chart('flux')] },
    { title: 'KEDA', objects: [chart('keda')] },
    { title: 'Redis', objects: [chart('redis'), ...data([CHART_VOLUMES.redis])] },
    { title: 'Gitea', objects: [chart('gitea'), ...data([CHART_VOLUMES.gitea])] },
    {
      title: 'Secrets and namespaces',
      objects: data([
        ...rendered.base.filter((m) => m.kind === 'Secret').map(ref),
        secretRef(SECRETS.giteaToken, NAMESPACE),
        secretRef(SECRETS.giteaRead, NAMESPACE),
        ...rendered.base.filter((m) => m.kind === 'Namespace').map(ref),
      ]),
    },
  ];
}

/** Deletes one object; gone already is fine. HelmCharts and namespaces are waited for until gone. */
export async function deleteObject(cluster: Cluster, object: Ref, options: { timeoutMs: number; pollMs: number }): Promise<'deleted' | 'gone'> {
  try {
    await cluster.objects.delete({ ...object, metadata: { ...object.metadata } }, undefined, undefined, undefined, undefined, 'Foreground');
  } catch (error) {
    if (isNotFound(error)) return 'gone';
    throw failure(`deleting ${describeObject(object)}: ${apiMessage(error)}`);
  }
  if (object.kind === 'HelmChart' || object.kind === 'Namespace') {
    await pollUntil(
      describeObject(object),
      {
        ...options,
        hint:
          object.kind === 'HelmChart' ? `its helm-delete Job: kubectl -n ${object.metadata.namespace} logs job/helm-delete-${object.metadata.name}` : undefined,
      },
      async () => ((await readObject(cluster, object)) ? 'it to be removed' : undefined),
    );
  }
  return 'deleted';
}

/**
 * What removes k3s from a host: the uninstall script install.sh left there, or, when it never got
 * that far, what our steps and install.sh put there; then our installer copy and the node's
 * password file (/etc/rancher/node), which k3s' script leaves behind. Pure.
 */
export function uninstallSteps(role: HostRole, facts: Pick<HostFacts, 'version' | 'uninstallers'>): RemoteStep[] {
  if (!facts.version && !facts.uninstallers[role]) return [];
  const service = `/etc/systemd/system/${SERVICE[role]}.service`;
  const uninstall: RemoteStep = facts.uninstallers[role]
    ? { kind: 'run', argv: [UNINSTALL_SCRIPT[role]], env: {}, describe: `run ${UNINSTALL_SCRIPT[role]}` }
    : {
        kind: 'run',
        argv: ['rm', '-rf', K3S_PATHS.binary, '/etc/rancher/k3s', '/var/lib/rancher/k3s', service, `${service}.env`],
        env: {},
        describe: `remove a half-installed k3s (no ${UNINSTALL_SCRIPT[role]})`,
      };
  return [
    uninstall,
    {
      kind: 'run',
      argv: ['rm', '-rf', dirname(INSTALLER_PATH), '/etc/rancher/node'],
      env: {},
      describe: `remove ${dirname(INSTALLER_PATH)} and /etc/rancher/node`,
    },
  ];
}

/** Removes k3s from a host (none: k3s is not there). */
export async function uninstallK3s(host: RemoteHost, role: HostRole, dryRun: boolean): Promise<string> {
  const where = `${host.ssh.target.address} (${role})`;
  const steps = uninstallSteps(role, await host.facts());
  if (steps.length === 0) return `${where}: k3s not installed`;
  if (dryRun) return `${where}: would ${steps.map((s) => s.describe).join(', then ')}`;
  for (const step of steps) await host.apply(step);
  return `${where}: ${steps.map((s) => s.describe.replace(/^run /, 'ran ').replace(/^remove /, 'removed ')).join(', ')}`;
}
