import { ScaledJob, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Pod } from 'kubernetes-models/v1';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BUILD_UID } from '../lib/agent/build-user.js';
import { loadConfig, parseConfig } from '../lib/config.js';
import { GROUP, STREAM } from '../lib/queue/names.js';
import { POLLING_INTERVAL_SECONDS, renderAgents } from '../lib/platform/agents.js';

const test = suite('agents on the cluster: KEDA ScaledJob');

interface PodSpecShape {
  containers: {
    name: string;
    env: { name: string; value?: string; valueFrom?: unknown }[];
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  }[];
  volumes: {
    name: string;
    projected?: { defaultMode: number; sources: { secret: { name: string; items: { key: string; path: string }[]; optional?: boolean } }[] };
  }[];
}

interface ScaledJobShape {
  spec: {
    maxReplicaCount: number;
    pollingInterval: number;
    scalingStrategy: { strategy: string };
    triggers: { type: string; metadata: Record<string, string>; authenticationRef: { name: string } }[];
    jobTargetRef: { template: { metadata: object; spec: { containers: { resources: unknown }[] } } };
  };
}

const scaledJob = (objects: ReturnType<typeof renderAgents>) => objects.find((o) => o.kind === 'ScaledJob') as unknown as ScaledJobShape;
const config = parseConfig({ agents: { max: 12, cpu: '4', memory: '8Gi' } }, 'test');

test('the objects validate against the KEDA and Kubernetes schemas', () => {
  const objects = renderAgents(config, 'bundle');
  new TriggerAuthentication(objects.find((o) => o.kind === 'TriggerAuthentication') as never).validate();
  new ScaledJob(objects.find((o) => o.kind === 'ScaledJob') as never).validate();
  const template = scaledJob(objects).spec.jobTargetRef.template;
  new Pod({ apiVersion: 'v1', kind: 'Pod', metadata: template.metadata, spec: template.spec } as never).validate();
});

test('the trigger reads the queue names the agents use, on lag, which scales to zero', () => {
  const { spec } = scaledJob(renderAgents(config, 'bundle'));
  const trigger = spec.triggers[0]!;
  assert.is(trigger.type, 'redis-streams');
  assert.equal([trigger.metadata.stream, trigger.metadata.consumerGroup, trigger.metadata.lagCount], [STREAM, GROUP, '1']);
  assert.not.ok('pendingEntriesCount' in trigger.metadata);
  assert.is(trigger.authenticationRef.name, 'raibid-redis');
  assert.is(spec.maxReplicaCount, 12);
  assert.is(spec.scalingStrategy.strategy, 'accurate');
  assert.ok(POLLING_INTERVAL_SECONDS + 3 < 10, 'spawn budget: polling interval plus pod start under 10 s');
  assert.equal(spec.jobTargetRef.template.spec.containers[0]!.resources, { requests: { cpu: '4', memory: '8Gi' }, limits: { cpu: '4', memory: '8Gi' } });
});

test("no secret in the agent pod's environment: Redis' URL and the read-only Gitea token are root-only files, no Gitea admin token at all, and builds run as the build user", () => {
  const objects = renderAgents(config, 'bundle');
  const pod = (objects.find((o) => o.kind === 'ScaledJob') as unknown as { spec: { jobTargetRef: { template: { spec: PodSpecShape } } } }).spec.jobTargetRef
    .template.spec;
  const agent = pod.containers.find((c) => c.name === 'agent')!;
  assert.equal(
    agent.env.filter((e) => e.valueFrom !== undefined),
    [],
    'no variable from a Secret',
  );
  assert.equal(agent.env.find((e) => e.name === 'RAIBID_SECRETS_DIR')?.value, '/run/raibid-secrets');
  assert.ok(agent.volumeMounts.some((m) => m.name === 'secrets' && m.mountPath === '/run/raibid-secrets' && m.readOnly));
  const secrets = pod.volumes.find((v) => v.name === 'secrets')!.projected!;
  assert.is(secrets.defaultMode, 0o400);
  assert.equal(
    secrets.sources.map((s) => [s.secret.name, s.secret.items.map((i) => `${i.key}→${i.path}`)]),
    [
      ['raibid-redis', ['url→RAIBID_REDIS_URL']],
      ['raibid-gitea-read', ['token→GITEA_READ_TOKEN']],
    ],
  );
  assert.ok(secrets.sources[1]!.secret.optional, 'a pod still starts before Gitea setup made it (it then fetches nothing from Gitea)');
  assert.not.match(JSON.stringify(pod), 'gitea-token', "commit statuses are serve's: the agent needs no Gitea token");
  const agentConfig = parse(
    String(
      (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'raibid-agent-config') as unknown as { data: Record<string, string> }).data[
        'config.yaml'
      ],
    ),
  );
  assert.is(agentConfig.agents.buildUid, BUILD_UID);
  // what the agent reads from those files is what the pod mounts
  const dir = mkdtempSync(join(tmpdir(), 'raibid-secrets-'));
  writeFileSync(join(dir, 'RAIBID_REDIS_URL'), 'redis://:pw@raibid-redis.raibid.svc:6379\n');
  writeFileSync(join(dir, 'GITEA_READ_TOKEN'), 'read-only-token\n');
  const loaded = loadConfig({ env: { RAIBID_SECRETS_DIR: dir, XDG_CONFIG_HOME: dir }, cwd: dir });
  assert.is(loaded.config.redis.url, 'redis://:pw@raibid-redis.raibid.svc:6379');
  assert.is(loaded.secrets.giteaReadToken, 'read-only-token');
});

test('defaults: 8 agents of 2 CPU and 4 GiB; no secret value anywhere', () => {
  const text = JSON.stringify(renderAgents(parseConfig({ redis: { url: 'redis://:hunter2@x:6379' } }, 'test'), 'bundle'));
  assert.match(text, '"maxReplicaCount":8');
  assert.match(text, '"limits":{"cpu":"2","memory":"4Gi"}');
  assert.not.match(text, 'hunter2');
});

test.run();
