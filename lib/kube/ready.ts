import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { pollUntil } from '../poll.js';
import type { KubeConfig as KubeConfigDoc } from '../k3s/kubeconfig.js';

export interface NodeState {
  name: string;
  ready: boolean;
  /** The conditions that are not as a healthy node has them, as `Type=Status (Reason: message)`. */
  problems: string[];
}

const HEALTHY: Record<string, string> = { Ready: 'True', MemoryPressure: 'False', DiskPressure: 'False', PIDPressure: 'False', NetworkUnavailable: 'False' };

export function nodeState(node: V1Node): NodeState {
  const conditions = node.status?.conditions ?? [];
  const problems = conditions
    .filter((c) => c.type in HEALTHY && c.status !== HEALTHY[c.type])
    .map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}`);
  return {
    name: node.metadata?.name ?? '(unnamed)',
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    problems,
  };
}

export function kubeClient(doc: KubeConfigDoc): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromString(stringify(doc));
  return kc.makeApiClient(CoreV1Api);
}

/** Polls until `expected` nodes are registered and Ready; on timeout says which are not and why. */
export async function waitForNodesReady(api: CoreV1Api, expected: number, options: { timeoutMs: number; pollMs?: number }): Promise<NodeState[]> {
  let states: NodeState[] = [];
  const hint = 'on the node: `journalctl -u k3s` (or k3s-agent); is k3s running on the server? (`systemctl status k3s`)';
  await pollUntil('nodes', { timeoutMs: options.timeoutMs, pollMs: options.pollMs ?? 2000, hint }, async () => {
    try {
      states = (await api.listNode()).items.map(nodeState);
    } catch (error) {
      return `the Kubernetes API to answer (last: ${(error as Error).message})`;
    }
    const waiting = states.filter((s) => !s.ready).map((s) => `${s.name}: ${s.problems.join(', ') || 'not Ready'}`);
    const missing = states.length < expected ? [`${expected - states.length} of ${expected} nodes to register`] : [];
    return [...waiting, ...missing].join('; ') || undefined;
  });
  return states;
}
