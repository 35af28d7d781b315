import { PatchStrategy } from '@kubernetes/client-node';
import { failure } from '../errors.js';
import { type Cluster, apiMessage, isNotFound } from './client.js';

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

export const FIELD_MANAGER = 'raibid-task';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export const describeObject = (m: Pick<Manifest, 'kind' | 'metadata'>) =>
  `${m.kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ''}${m.metadata.name}`;

export async function readObject(cluster: Cluster, ref: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): Promise<Manifest | undefined> {
  try {
    return (await cluster.objects.read({
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.metadata.name, namespace: ref.metadata.namespace },
    })) as Manifest;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw failure(`reading ${describeObject(ref)}: ${apiMessage(error)}`, 'check the cluster with `raibid-task doctor`');
  }
}

/**
 * Server-side apply as field manager raibid-task (forcing, as the owner of these objects). The
 * outcome is told from the resourceVersion, which the API server keeps when nothing changed.
 */
export async function applyObject(cluster: Cluster, manifest: Manifest): Promise<ApplyOutcome> {
  const before = await readObject(cluster, manifest);
  try {
    const after = await cluster.objects.patch(structuredClone(manifest), undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    if (!before) return 'created';
    return (after.metadata as { resourceVersion?: string } | undefined)?.resourceVersion === (before.metadata as { resourceVersion?: string }).resourceVersion
      ? 'unchanged'
      : 'configured';
  } catch (error) {
    throw failure(`applying ${describeObject(manifest)}: ${apiMessage(error)}`, 'check the object with `raibid-task render`');
  }
}

export interface ApplySummary {
  created: number;
  configured: number;
  unchanged: number;
}

/** Applies in the given order, one at a time (later objects may need earlier ones, as namespaces). */
export async function applyAll(cluster: Cluster, manifests: Manifest[], onApplied?: (m: Manifest, outcome: ApplyOutcome) => void): Promise<ApplySummary> {
  const summary: ApplySummary = { created: 0, configured: 0, unchanged: 0 };
  for (const manifest of manifests) {
    const outcome = await applyObject(cluster, manifest);
    summary[outcome] += 1;
    onApplied?.(manifest, outcome);
  }
  return summary;
}

export const formatSummary = (s: ApplySummary) => `${s.created} created, ${s.configured} configured, ${s.unchanged} unchanged`;
