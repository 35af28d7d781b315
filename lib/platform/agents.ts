import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { BUILD_UID } from '../agent/build-user.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import type { Manifest } from '../kube/apply.js';
import { GROUP, STREAM } from '../queue/names.js';
import { GITEA_HTTP_SERVICE, NAMESPACE, PART_OF, REDIS_HOST, REDIS_PORT, SECRETS } from './names.js';

/**
 * How often KEDA reads the lag. A job waits at most this long to be seen, then for a pod to
 * start: with the images already on the node (bootstrap pulls them) that is about 2–3 s (init
 * container copying node ~1 s, node and the bundle ~0.3 s, Redis claim ~ms), so 5 + 3 = 8 s
 * stays under the 10 s spawn promise. A shorter interval only adds load on the API server.
 */
export const POLLING_INTERVAL_SECONDS = 5;

const BUNDLE = new URL('../../bundle/raibid-pod.cjs', import.meta.url);
export const BUNDLE_KEY = 'raibid-pod.cjs.gz';

function agentPodSpec(config: Config): Record<string, unknown> {
  const pod = parse(readFileSync(new URL('../../../manifests/agent-pod.yaml', import.meta.url), 'utf8')) as {
    metadata: Record<string, unknown>;
    spec: { runtimeClassName?: string; containers: { resources: unknown; env: unknown[] }[] };
  };
  const agent = pod.spec.containers[0]!;
  const resources = { cpu: config.agents.cpu, memory: config.agents.memory };
  agent.resources = { requests: resources, limits: resources };
  if (config.agents.gpu) {
    pod.spec.runtimeClassName = 'nvidia';
    agent.env.push({ name: 'NVIDIA_VISIBLE_DEVICES', value: 'all' }, { name: 'NVIDIA_DRIVER_CAPABILITIES', value: 'compute,utility' });
  }
  return { metadata: pod.metadata, spec: pod.spec };
}

/** What an agent pod reads as its config: the queue's settings and the in-cluster Gitea. */
function agentConfig(config: Config): string {
  const { command, jobTimeoutSeconds } = config.agents;
  return stringify({
    queue: config.queue,
    gitea: { url: `http://${GITEA_HTTP_SERVICE}` },
    agents: { jobTimeoutSeconds, buildUid: BUILD_UID, ...(command ? { command } : {}) },
  });
}

/** The agent program as the pods unpack it: the bundle, gzipped (well under a ConfigMap's 1 MiB). */
export function agentBundle(): Buffer {
  if (!existsSync(BUNDLE))
    throw new UserError('the agent bundle is missing (dist/bundle/raibid-pod.cjs)', { hint: 'run `npm run bundle` in the raibid-task checkout' });
  return gzipSync(readFileSync(BUNDLE), { level: 9 });
}

/**
 * The agents: their config, program and cache volume, and a ScaledJob that starts one pod per
 * waiting job on the consumer group's lag (the only redis-streams mode that scales to zero),
 * with Redis' password through a TriggerAuthentication that points at a Secret.
 */
export function renderAgents(config: Config, bundle: Buffer | string): Manifest[] {
  const jobTimeout = config.agents.jobTimeoutSeconds;
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'raibid-agent-config', namespace: NAMESPACE, labels: PART_OF },
      data: { 'config.yaml': agentConfig(config) },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'raibid-agent-bundle', namespace: NAMESPACE, labels: PART_OF },
      binaryData: { [BUNDLE_KEY]: typeof bundle === 'string' ? bundle : bundle.toString('base64') },
    },
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'TriggerAuthentication',
      metadata: { name: SECRETS.redis, namespace: NAMESPACE, labels: PART_OF },
      spec: { secretTargetRef: [{ parameter: 'password', name: SECRETS.redis, key: 'password' }] },
    },
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledJob',
      metadata: { name: 'raibid-agent', namespace: NAMESPACE, labels: PART_OF },
      spec: {
        pollingInterval: POLLING_INTERVAL_SECONDS,
        maxReplicaCount: config.agents.max,
        successfulJobsHistoryLimit: 5,
        failedJobsHistoryLimit: 5,
        // lag already leaves out the jobs agents hold, so running jobs must not be subtracted
        // again; a pod counts as pending (and is subtracted) until it is Ready, which it turns
        // once it has claimed its entry: no second pod for an entry whose pod is still starting
        scalingStrategy: { strategy: 'accurate', pendingPodConditions: ['Ready'] },
        // KEDA's default deletes every running Job of the previous spec when the spec changes
        rollout: { strategy: 'gradual' },
        jobTargetRef: {
          parallelism: 1,
          completions: 1,
          backoffLimit: 0,
          activeDeadlineSeconds: jobTimeout + 300,
          ttlSecondsAfterFinished: 600,
          template: agentPodSpec(config),
        },
        triggers: [
          {
            type: 'redis-streams',
            metadata: { address: `${REDIS_HOST}:${REDIS_PORT}`, stream: STREAM, consumerGroup: GROUP, lagCount: '1', activationLagCount: '0' },
            authenticationRef: { name: SECRETS.redis },
          },
        ],
      },
    },
  ];
}
