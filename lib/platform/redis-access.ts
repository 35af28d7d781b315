import { existsSync, readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { type Config, DEFAULT_REDIS_URL } from '../config.js';
import { failure } from '../errors.js';
import { defaultKubeconfig } from '../paths.js';
import { type OpenQueue, openQueue } from '../queue/open.js';
import { NAMESPACE, REDIS_PORT, RELEASES, SECRETS } from './names.js';

export interface RedisAccess {
  url: string;
  /** How it was reached, for messages: the URL's host, or the pod forwarded to. */
  via: string;
  close(): Promise<void>;
}

const isReady = (pod: V1Pod) => pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

function hasContext(file: string, context: string): boolean {
  if (!existsSync(file)) return false;
  const doc = parse(readFileSync(file, 'utf8')) as { contexts?: { name: string }[] } | null;
  return (doc?.contexts ?? []).some((c) => c.name === context);
}

/**
 * Where the workstation tasks find the queue: redis.url when set; else, when the kubeconfig has
 * the cluster's context, the platform's Redis through a port-forward (password from its Secret);
 * else a local Redis.
 */
export async function reachRedis(config: Config, env: NodeJS.ProcessEnv): Promise<RedisAccess> {
  const local = { close: async () => {} };
  if (config.redis.url) return { url: config.redis.url, via: new URL(config.redis.url).host, ...local };
  const kubeconfig = defaultKubeconfig(env);
  if (!hasContext(kubeconfig, config.k3s.context)) return { url: DEFAULT_REDIS_URL, via: '127.0.0.1:6379', ...local };
  // the Kubernetes client takes a second to load: only when the cluster is the way in
  const [{ apiMessage, connectCluster, kubeconfigFromFile }, { forwardPort }] = await Promise.all([
    import('../kube/client.js'),
    import('../kube/port-forward.js'),
  ]);
  const cluster = connectCluster(kubeconfigFromFile(kubeconfig, config.k3s.context));
  const hint = 'set redis.url to reach Redis directly, or check the platform with `raibid-task bootstrap --only platform`';
  try {
    const pods = await cluster.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app.kubernetes.io/instance=${RELEASES.redis}` });
    const pod = pods.items.find(isReady);
    if (!pod) throw failure(`no Redis pod ready in namespace ${NAMESPACE} (context ${config.k3s.context})`, hint);
    const secret = await cluster.core.readNamespacedSecret({ name: SECRETS.redis, namespace: NAMESPACE });
    const password = Buffer.from(secret.data?.password ?? '', 'base64').toString('utf8');
    const forward = await forwardPort(cluster, NAMESPACE, pod.metadata!.name!, REDIS_PORT);
    return {
      url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${forward.port}`,
      via: `pod ${NAMESPACE}/${pod.metadata!.name} (port-forward)`,
      close: forward.close,
    };
  } catch (error) {
    if ((error as { exitCode?: number }).exitCode !== undefined) throw error;
    throw failure(`reaching Redis through context ${config.k3s.context}: ${apiMessage(error)}`, hint);
  }
}

/** The workstation tasks' way to the queue: opened through reachRedis, closed with it. */
export async function withQueue<T>(config: Config, env: NodeJS.ProcessEnv, use: (open: OpenQueue) => Promise<T>): Promise<T> {
  const open = await reachQueue(config, env);
  try {
    return await use(open);
  } finally {
    await open.close();
  }
}

/** The queue reached as withQueue reaches it, kept open; its close() ends the port-forward too. */
export async function reachQueue(config: Config, env: NodeJS.ProcessEnv): Promise<OpenQueue> {
  const access = await reachRedis(config, env);
  try {
    const open = await openQueue(config, 'raibid-task', access.url);
    return {
      ...open,
      close: async () => {
        await open.close();
        await access.close();
      },
    };
  } catch (error) {
    await access.close();
    throw error;
  }
}
