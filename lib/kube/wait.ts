import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { failure } from '../errors.js';
import { readObject } from './apply.js';
import { pollUntil } from '../poll.js';
import type { Cluster } from './client.js';
import { type Workload, releaseWorkloads, rolloutPending } from './rollout.js';

export interface ChartRef {
  /** The HelmChart's name, which is also the Helm release's. */
  name: string;
  namespace: string;
  targetNamespace: string;
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs: number;
  /** The install Job seen before the chart changed: wait for its successor instead. */
  staleJobUid?: string;
}

const LOG_LINES = 20;
export const installJobName = (chart: string) => `helm-install-${chart}`;

async function jobLogTail(cluster: Cluster, job: V1Job): Promise<string> {
  const name = job.metadata!.name!;
  const namespace = job.metadata!.namespace!;
  const pods = (await cluster.core.listNamespacedPod({ namespace, labelSelector: `job-name=${name}` })).items;
  const newest = pods.sort((a: V1Pod, b: V1Pod) => String(b.metadata?.creationTimestamp?.toISOString?.() ?? '').localeCompare(String(a.metadata?.creationTimestamp?.toISOString?.() ?? '')))[0];
  if (!newest) return '(no pod left to read the log from)';
  const log = await cluster.core.readNamespacedPodLog({ name: newest.metadata!.name!, namespace, tailLines: LOG_LINES });
  return log.trimEnd() || '(empty log)';
}

/** What the chart still waits for, or undefined once its Job is done and its workloads are rolled out. */
export async function chartPending(cluster: Cluster, chart: ChartRef, staleJobUid: string | undefined): Promise<string | undefined> {
  const jobName = installJobName(chart.name);
  const job = (await readObject(cluster, { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: jobName, namespace: chart.namespace } })) as V1Job | undefined;
  if (!job || job.metadata?.uid === staleJobUid) return `Job ${chart.namespace}/${jobName} to start`;
  const conditions = job.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'Failed' && c.status === 'True')) {
    const tail = await jobLogTail(cluster, job);
    throw failure(`chart ${chart.name}: ${jobName} failed; last lines of its log:\n${tail}`, `see all of it: kubectl -n ${chart.namespace} logs job/${jobName}`);
  }
  if (!conditions.some((c) => c.type === 'Complete' && c.status === 'True')) return `Job ${chart.namespace}/${jobName} to complete`;
  const secrets = await cluster.core.listNamespacedSecret({ namespace: chart.targetNamespace, labelSelector: `owner=helm,name=${chart.name},status=deployed` });
  const release = secrets.items.sort((a, b) => Number(b.metadata?.labels?.version) - Number(a.metadata?.labels?.version))[0];
  if (!release?.data?.release) return `the Helm release ${chart.targetNamespace}/${chart.name} to be recorded`;
  for (const w of releaseWorkloads(release.data.release, chart.targetNamespace)) {
    const apiVersion = 'apps/v1';
    const object = (await readObject(cluster, { apiVersion, kind: w.kind, metadata: { name: w.name, namespace: w.namespace } })) as Workload | undefined;
    const pending = object ? rolloutPending(object) : 'to be created';
    if (pending) return `${w.kind} ${w.namespace}/${w.name}: ${pending}`;
  }
  return undefined;
}

/** Polls until the chart is installed and its workloads are available. */
export function waitForChart(cluster: Cluster, chart: ChartRef, options: WaitOptions): Promise<void> {
  const hint = `look closer: kubectl -n ${chart.targetNamespace} get pods; raise platform.timeoutSeconds if it is only slow`;
  return pollUntil(`chart ${chart.name}`, { ...options, hint }, () => chartPending(cluster, chart, options.staleJobUid));
}
