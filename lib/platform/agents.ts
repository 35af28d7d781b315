import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Config } from '../config.js';
import { GROUP, STREAM } from '../queue/names.js';

export const NAMESPACE = 'raibid';
export const REDIS_SERVICE = `raibid-redis.${NAMESPACE}.svc.cluster.local:6379`;

/**
 * How often KEDA reads the lag. A job waits at most this long to be seen, then for a pod to
 * start: with the images already on the node (bootstrap pulls them) that is about 2–3 s (init
 * container copying node ~1 s, node and the bundle ~0.3 s, Redis claim ~ms), so 5 + 3 = 8 s
 * stays under the 10 s spawn promise. A shorter interval only adds load on the API server.
 */
export const POLLING_INTERVAL_SECONDS = 5;

type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

function agentPodSpec(config: Config): Record<string, unknown> {
  const pod = parse(readFileSync(new URL('../../../manifests/agent-pod.yaml', import.meta.url), 'utf8')) as {
    metadata: Record<string, unknown>;
    spec: { containers: { resources: unknown }[] };
  };
  const resources = { cpu: config.agents.cpu, memory: config.agents.memory };
  pod.spec.containers[0]!.resources = { requests: resources, limits: resources };
  return { metadata: pod.metadata, spec: pod.spec };
}

/**
 * The agents: a ScaledJob that starts one pod per waiting job, on the consumer group's lag (the
 * only redis-streams mode that scales to zero), with Redis' password through a
 * TriggerAuthentication that points at a Secret. No secret value is in any of these objects.
 */
export function renderAgents(config: Config): Manifest[] {
  const jobTimeout = config.agents.jobTimeoutSeconds;
  return [
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'TriggerAuthentication',
      metadata: { name: 'raibid-redis', namespace: NAMESPACE },
      spec: { secretTargetRef: [{ parameter: 'password', name: 'raibid-redis', key: 'password' }] },
    },
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledJob',
      metadata: { name: 'raibid-agent', namespace: NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'raibid' } },
      spec: {
        pollingInterval: POLLING_INTERVAL_SECONDS,
        maxReplicaCount: config.agents.max,
        successfulJobsHistoryLimit: 5,
        failedJobsHistoryLimit: 5,
        // lag already leaves out the jobs agents hold, so running jobs must not be subtracted again
        scalingStrategy: { strategy: 'accurate' },
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
            metadata: { address: REDIS_SERVICE, stream: STREAM, consumerGroup: GROUP, lagCount: '1', activationLagCount: '0' },
            authenticationRef: { name: 'raibid-redis' },
          },
        ],
      },
    },
  ];
}
