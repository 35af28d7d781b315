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

/** A failed try of helm in the install Job's pod: helm-controller restarts it in place (OnFailure). */
export interface FailedTry {
  pod: string;
  exitCode: number;
  /** The container was restarted since: its failed run's log is the previous one. */
  restarted: boolean;
}

async function jobPods(cluster: Cluster, job: V1Job): Promise<V1Pod[]> {
  const pods = await cluster.core.listNamespacedPod({ namespace: job.metadata!.namespace!, labelSelector: `job-name=${job.metadata!.name}` });
  return pods.items.filter((pod) => pod.metadata?.ownerReferences?.some((owner) => owner.uid === job.metadata?.uid));
}

/** The install pod's failed try, if helm exited non-zero in this Job's pod. */
export async function failedTry(cluster: Cluster, job: V1Job): Promise<FailedTry | undefined> {
  for (const pod of await jobPods(cluster, job)) {
    for (const status of pod.status?.containerStatuses ?? []) {
      const now = status.state?.terminated;
      if (now && now.exitCode !== 0) return { pod: pod.metadata!.name!, exitCode: now.exitCode, restarted: false };
      const last = status.lastState?.terminated;
      if (last && last.exitCode !== 0) return { pod: pod.metadata!.name!, exitCode: last.exitCode, restarted: true };
    }
  }
  return undefined;
}

const isFailed = (job: V1Job) => (job.status?.conditions ?? []).some((c) => c.type === 'Failed' && c.status === 'True');

async function logTail(cluster: Cluster, namespace: string, failed: FailedTry): Promise<string> {
  const log = await cluster.core.readNamespacedPodLog({ name: failed.pod, namespace, tailLines: LOG_LINES, previous: failed.restarted });
  return log.trimEnd() || '(empty log)';
}

/** Whether this install Job failed (Failed, or helm exited non-zero in its pod): a new one is needed. */
export async function installFailed(cluster: Cluster, job: V1Job): Promise<boolean> {
  return isFailed(job) || (await failedTry(cluster, job)) !== undefined;
}

/** The error that reports a failed install Job, with the tail of its failed try's log. */
async function installFailure(cluster: Cluster, chart: ChartRef, job: V1Job, failed: FailedTry | undefined): Promise<Error> {
  const jobName = job.metadata!.name!;
  const where = failed ? `its pod ${chart.namespace}/${failed.pod}: helm exited with code ${failed.exitCode}` : 'its pod is gone';
  const tail = failed ? await logTail(cluster, chart.namespace, failed) : '(no pod left to read the log from)';
  return failure(
    `chart ${chart.name}: ${jobName} failed (${where}); last lines of its log:\n${tail}`,
    `the install Job runs in ${chart.namespace}: kubectl -n ${chart.namespace} logs job/${jobName}${failed?.restarted ? ' --previous' : ''}; fix the cause and run bootstrap again (it starts a new install Job)`,
  );
}

/** What the chart still waits for, or undefined once its Job is done and its workloads are rolled out. */
export async function chartPending(cluster: Cluster, chart: ChartRef, staleJobUid: string | undefined): Promise<string | undefined> {
  const jobName = installJobName(chart.name);
  const job = (await readObject(cluster, { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: jobName, namespace: chart.namespace } })) as
    V1Job | undefined;
  if (!job || job.metadata?.uid === staleJobUid) return `Job ${chart.namespace}/${jobName} to start`;
  if (!(job.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True')) {
    const failed = await failedTry(cluster, job);
    if (failed || isFailed(job)) throw await installFailure(cluster, chart, job, failed);
    return `Job ${chart.namespace}/${jobName} to complete`;
  }
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
  const hint = `look closer: kubectl -n ${chart.targetNamespace} get pods, and the install Job's log: kubectl -n ${chart.namespace} logs job/${installJobName(chart.name)}; raise platform.timeoutSeconds if it is only slow`;
  return pollUntil(`chart ${chart.name}`, { ...options, hint }, () => chartPending(cluster, chart, options.staleJobUid));
}
