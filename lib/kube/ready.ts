import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { failure } from '../errors.js';
import { sleep } from '../poll.js';
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
  const deadline = Date.now() + options.timeoutMs;
  let states: NodeState[] = [];
  let lastError: Error | undefined;
  for (;;) {
    try {
      states = (await api.listNode()).items.map(nodeState);
      lastError = undefined;
      if (states.length >= expected && states.every((s) => s.ready)) return states;
    } catch (error) {
      lastError = error as Error;
    }
    if (Date.now() >= deadline) break;
    await sleep(options.pollMs ?? 2000);
  }
  const seconds = Math.round(options.timeoutMs / 1000);
  if (lastError) {
    throw failure(`the Kubernetes API did not answer within ${seconds} s: ${lastError.message}`, 'is k3s running on the server? `systemctl status k3s` there');
  }
  const waiting = states.filter((s) => !s.ready).map((s) => `${s.name}: ${s.problems.join(', ') || 'not Ready'}`);
  const missing = states.length < expected ? [`${expected - states.length} of ${expected} nodes not registered`] : [];
  throw failure(`nodes not Ready after ${seconds} s: ${[...waiting, ...missing].join('; ')}`, 'on the node: `journalctl -u k3s` (or k3s-agent)');
}
