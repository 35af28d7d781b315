import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { writeFileAtomic } from '../paths.js';

type Named = { name: string } & Record<string, unknown>;

export interface KubeConfig {
  apiVersion?: string;
  kind?: string;
  clusters: Named[];
  users: Named[];
  contexts: Named[];
  'current-context'?: string;
  [key: string]: unknown;
}

function asKubeConfig(raw: unknown, source: string): KubeConfig {
  const doc = (raw ?? {}) as Partial<KubeConfig>;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${source} is not a kubeconfig`);
  return { apiVersion: 'v1', kind: 'Config', ...doc, clusters: doc.clusters ?? [], users: doc.users ?? [], contexts: doc.contexts ?? [] };
}

/**
 * k3s's own kubeconfig (cluster, user and context all named "default", server 127.0.0.1),
 * pointed at `server` and renamed to `context` everywhere.
 */
export function retarget(k3sYaml: string, server: string, context: string): KubeConfig {
  const source = asKubeConfig(parse(k3sYaml), 'the k3s kubeconfig');
  const cluster = source.clusters[0] as { cluster?: Record<string, unknown> } | undefined;
  const user = source.users[0] as { user?: Record<string, unknown> } | undefined;
  if (!cluster?.cluster || !user?.user) throw new Error('the k3s kubeconfig has no cluster or user');
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: context, cluster: { ...cluster.cluster, server } }],
    users: [{ name: context, user: user.user }],
    contexts: [{ name: context, context: { cluster: context, user: context } }],
    'current-context': context,
  };
}

/** `incoming`'s entries replace same-named ones in `existing`; every other entry stays. */
export function merge(existing: KubeConfig, incoming: KubeConfig): KubeConfig {
  const replace = (mine: Named[], theirs: Named[]) => [...mine.filter((entry) => !theirs.some((t) => t.name === entry.name)), ...theirs];
  return {
    ...existing,
    clusters: replace(existing.clusters, incoming.clusters),
    users: replace(existing.users, incoming.users),
    contexts: replace(existing.contexts, incoming.contexts),
    'current-context': existing['current-context'] || incoming['current-context'],
  };
}

/** Merges into the kubeconfig file at `path` (made if missing), written whole with mode 0600. */
export function mergeIntoFile(path: string, incoming: KubeConfig): void {
  const existing = existsSync(path) ? asKubeConfig(parse(readFileSync(path, 'utf8')), path) : asKubeConfig({}, path);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, stringify(merge(existing, incoming)));
}
