import { gunzipSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

type Status = Record<string, number | string | undefined>;
export interface Workload {
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number };
  spec?: { replicas?: number; updateStrategy?: { type?: string } };
  status?: Status & { conditions?: { type: string; status: string; reason?: string }[] };
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'];

/**
 * kubectl's `rollout status` rules: undefined when the workload is rolled out, else what it
 * still waits for. A Deployment past its progress deadline is reported as such.
 */
export function rolloutPending(w: Workload): string | undefined {
  const s = w.status ?? {};
  const n = (key: string) => Number(s[key] ?? 0);
  if ((w.metadata.generation ?? 0) > n('observedGeneration')) return 'waiting for the spec update to be observed';
  if (w.kind === 'Deployment') {
    const replicas = w.spec?.replicas ?? 1;
    if (w.status?.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded')) return 'exceeded its progress deadline';
    if (n('updatedReplicas') < replicas) return `${n('updatedReplicas')} of ${replicas} replicas updated`;
    if (n('replicas') > n('updatedReplicas')) return `${n('replicas') - n('updatedReplicas')} old replicas pending termination`;
    if (n('availableReplicas') < n('updatedReplicas')) return `${n('availableReplicas')} of ${n('updatedReplicas')} replicas available`;
    return undefined;
  }
  if (w.kind === 'StatefulSet') {
    if (w.spec?.updateStrategy?.type === 'OnDelete') return undefined;
    const replicas = w.spec?.replicas ?? 1;
    if (n('readyReplicas') < replicas) return `${n('readyReplicas')} of ${replicas} pods ready`;
    if (s.updateRevision !== s.currentRevision) return `${n('updatedReplicas')} of ${replicas} pods at the new revision`;
    return undefined;
  }
  const desired = n('desiredNumberScheduled');
  if (n('updatedNumberScheduled') < desired) return `${n('updatedNumberScheduled')} of ${desired} pods updated`;
  if (n('numberAvailable') < desired) return `${n('numberAvailable')} of ${desired} pods available`;
  return undefined;
}

/** The workloads a Helm release installed, from Helm's storage Secret (data.release). */
export function releaseWorkloads(releaseData: string, namespace: string): { kind: string; name: string; namespace: string }[] {
  const release = JSON.parse(gunzipSync(Buffer.from(Buffer.from(releaseData, 'base64').toString('utf8'), 'base64')).toString('utf8')) as { manifest?: string };
  return parseAllDocuments(release.manifest ?? '')
    .map((doc) => doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null)
    .filter((o) => o?.kind && WORKLOAD_KINDS.includes(o.kind) && o.metadata?.name)
    .map((o) => ({ kind: o!.kind!, name: o!.metadata!.name!, namespace: o!.metadata!.namespace ?? namespace }));
}
