import { existsSync, readFileSync } from 'node:fs';
import { ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { UserError } from '../errors.js';
import type { KubeConfig as KubeConfigDoc } from '../k3s/kubeconfig.js';

/** The clients the platform stages use, from one kubeconfig. */
export interface Cluster {
  config: KubeConfig;
  core: CoreV1Api;
  objects: KubernetesObjectApi;
}

export function connectCluster(doc: KubeConfigDoc): Cluster {
  const config = new KubeConfig();
  config.loadFromString(stringify(doc));
  return { config, core: config.makeApiClient(CoreV1Api), objects: KubernetesObjectApi.makeApiClient(config) };
}

/** A kubeconfig file's `context` (when it has one by that name) or its current context. */
export function kubeconfigFromFile(path: string, context: string): KubeConfigDoc {
  if (!existsSync(path)) {
    throw new UserError(`no kubeconfig at ${path}`, { hint: 'run `raibid-task bootstrap` (k3s stage) first, or pass --kubeconfig <file>' });
  }
  const doc = parse(readFileSync(path, 'utf8')) as KubeConfigDoc;
  const hasContext = (doc.contexts ?? []).some((c) => c.name === context);
  return { ...doc, 'current-context': hasContext ? context : doc['current-context'] };
}

export const isNotFound = (error: unknown) => error instanceof ApiException && error.code === 404;

/** The message a Kubernetes API error carries (its Status), not the client's generic one. */
export function apiMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    const message = typeof body === 'string' ? (JSON.parse(body) as { message?: string }).message : body?.message;
    return `HTTP ${error.code}${message ? `: ${message}` : ''}`;
  }
  return (error as Error).message;
}
