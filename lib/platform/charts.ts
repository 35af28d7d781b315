import { stringify } from 'yaml';
import { isNamedHost } from '../hosts.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import type { Manifest } from '../kube/apply.js';
import { REDIS_PERSISTENCE } from '../queue/persistence.js';
import { CHART_NAMESPACE, FLUX_NAMESPACE, KEDA_NAMESPACE, NAMESPACE, PART_OF, RELEASES, SECRETS } from './names.js';

/** Every chart the platform installs, pinned here and only here. */
export const CHART_PINS = {
  redis: { repo: 'https://valkey.io/valkey-helm/', chart: 'valkey', version: '0.9.2' },
  gitea: { repo: 'https://dl.gitea.com/charts/', chart: 'gitea', version: '12.4.0' },
  keda: { repo: 'https://kedacore.github.io/charts', chart: 'keda', version: '2.18.1' },
  flux: { repo: 'https://fluxcd-community.github.io/helm-charts', chart: 'flux2', version: '2.17.2' },
} as const;

export type ChartKey = keyof typeof CHART_PINS;

export interface ChartSpec {
  key: ChartKey;
  manifest: Manifest;
  targetNamespace: string;
}

/** The URL users reach Gitea at: gitea.url, else the server's address through k3s's ingress. */
export function giteaUrl(config: Config): string | undefined {
  return config.gitea.url ?? (config.host ? `http://${config.host.address}` : undefined);
}

/** giteaUrl, for what cannot go on without one. */
export function requiredGiteaUrl(config: Config, task?: string): string {
  const url = giteaUrl(config);
  if (!url)
    throw new UserError(`${task ? `${task}: ` : ''}no Gitea URL: set gitea.url (or host.address, which it defaults to)`, {
      hint: 'gitea.url: http://gitea.spark-1.local',
    });
  return url;
}

/** Gitea refuses to migrate from private addresses unless told; a GitHub Enterprise on the LAN needs them. */
export const migratesFromLocalNetworks = (config: Config) => new URL(config.github.apiUrl).hostname !== 'api.github.com';

/** How many times helm-controller's install pod may fail before its Job is Failed (its default, 1000, is never reached). */
export const INSTALL_BACKOFF_LIMIT = 3;

function giteaValues(config: Config): Record<string, unknown> {
  const url = new URL(giteaUrl(config) ?? 'http://gitea.localhost');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return {
    strategy: { type: 'Recreate' },
    replicaCount: 1,
    persistence: { enabled: true, size: config.gitea.storage },
    'postgresql-ha': { enabled: false },
    postgresql: { enabled: false },
    'valkey-cluster': { enabled: false },
    valkey: { enabled: false },
    gitea: {
      admin: { existingSecret: SECRETS.giteaAdmin, email: `${config.gitea.adminUser}@localhost`, passwordMode: 'keepUpdated' },
      config: {
        database: { DB_TYPE: 'sqlite3' },
        session: { PROVIDER: 'db' },
        cache: { ADAPTER: 'memory' },
        queue: { TYPE: 'level' },
        server: { ROOT_URL: `${url.origin}/`, DOMAIN: host, SSH_DOMAIN: host },
        service: { DISABLE_REGISTRATION: true, REQUIRE_SIGNIN_VIEW: true },
        repository: { DEFAULT_BRANCH: 'main', DEFAULT_PRIVATE: 'private' },
        packages: { ENABLED: true },
        mirror: { ENABLED: true, DEFAULT_INTERVAL: `${config.mirror.intervalMinutes}m`, MIN_INTERVAL: '10m' },
        migrations: { ALLOW_LOCALNETWORKS: migratesFromLocalNetworks(config), ALLOWED_DOMAINS: '' },
        webhook: { ALLOWED_HOST_LIST: 'private,loopback,external', DELIVER_TIMEOUT: 10 },
        actions: { ENABLED: false },
      },
    },
    ingress: {
      enabled: true,
      className: 'traefik',
      // the chart renders host through tpl, so it must be a string; "" routes every host name
      hosts: [{ host: isNamedHost(host) ? host : '', paths: [{ path: '/', pathType: 'Prefix' }] }],
    },
  };
}

function redisValues(config: Config): Record<string, unknown> {
  return {
    // the chart would name it raibid-redis-valkey; the agents and KEDA reach raibid-redis
    fullnameOverride: RELEASES.redis,
    deploymentStrategy: 'Recreate',
    auth: { enabled: true, usersExistingSecret: SECRETS.redis, aclUsers: { default: { permissions: '~* &* +@all', passwordKey: 'password' } } },
    dataStorage: { enabled: true, requestedSize: config.redis.storage },
    // the queue's durability: every write on disk before it is acknowledged (lib/queue/persistence.ts)
    valkeyConfig: Object.entries(REDIS_PERSISTENCE)
      .map(([key, value]) => `${key} ${value}\n`)
      .join(''),
  };
}

const kedaValues = () => ({ crds: { install: true } });

const fluxValues = () => ({
  imageAutomationController: { create: false },
  imageReflectionController: { create: false },
  notificationController: { create: false },
  helmController: { create: false },
});

function helmChart(key: ChartKey, name: string, targetNamespace: string, values: Record<string, unknown>): ChartSpec {
  const pin = CHART_PINS[key];
  return {
    key,
    targetNamespace,
    manifest: {
      apiVersion: 'helm.cattle.io/v1',
      kind: 'HelmChart',
      metadata: { name, namespace: CHART_NAMESPACE, labels: PART_OF },
      spec: {
        repo: pin.repo,
        chart: pin.chart,
        version: pin.version,
        targetNamespace,
        createNamespace: true,
        timeout: '600s',
        backOffLimit: INSTALL_BACKOFF_LIMIT,
        valuesContent: stringify(values),
      },
    },
  };
}

/** The four charts as k3s's helm-controller installs them; secrets reach them only by Secret name. */
export function renderCharts(config: Config): ChartSpec[] {
  return [
    helmChart('redis', RELEASES.redis, NAMESPACE, redisValues(config)),
    helmChart('keda', RELEASES.keda, KEDA_NAMESPACE, kedaValues()),
    helmChart('gitea', RELEASES.gitea, NAMESPACE, giteaValues(config)),
    helmChart('flux', RELEASES.flux, FLUX_NAMESPACE, fluxValues()),
  ];
}
