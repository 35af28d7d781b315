import { randomBytes } from 'node:crypto';
import type { Config, Secrets } from '../config.js';
import type { Manifest } from '../kube/apply.js';
import { NAMESPACE, PART_OF, REDIS_HOST, REDIS_PORT, SECRETS } from './names.js';

/** The platform's own credentials: given (env), else what the cluster already has, else new. */
export interface PlatformSecrets {
  redisPassword: string;
  giteaAdminPassword: string;
  webhookSecret: string;
}

export const REDACTED = '(redacted)';
const generate = () => randomBytes(24).toString('base64url');

export function choosePlatformSecrets(given: Secrets, existing: Partial<PlatformSecrets>, random = generate): PlatformSecrets {
  return {
    redisPassword: given.redisPassword ?? existing.redisPassword ?? random(),
    giteaAdminPassword: given.giteaAdminPassword ?? existing.giteaAdminPassword ?? random(),
    webhookSecret: given.webhookSecret ?? existing.webhookSecret ?? random(),
  };
}

/** Placeholders for `render` and dry runs, where no value may appear. */
export const redactedSecrets = (): PlatformSecrets => ({ redisPassword: REDACTED, giteaAdminPassword: REDACTED, webhookSecret: REDACTED });

export const redisUrlInCluster = (password: string) => `redis://:${encodeURIComponent(password)}@${REDIS_HOST}:${REDIS_PORT}`;

export function secret(name: string, namespace: string, data: Record<string, string>): Manifest {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: PART_OF }, type: 'Opaque', stringData: data };
}

export function renderSecrets(config: Config, s: PlatformSecrets): Manifest[] {
  return [
    secret(SECRETS.redis, NAMESPACE, { password: s.redisPassword, url: redisUrlInCluster(s.redisPassword) }),
    secret(SECRETS.giteaAdmin, NAMESPACE, { username: config.gitea.adminUser, password: s.giteaAdminPassword }),
    secret(SECRETS.webhook, NAMESPACE, { secret: s.webhookSecret }),
  ];
}

/** Replaces every value of every Secret, for printing. */
export function redact(manifests: Manifest[]): Manifest[] {
  return manifests.map((m) => {
    if (m.kind !== 'Secret') return m;
    const hide = (values: unknown) => values && Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED]));
    const { data, stringData, ...rest } = m;
    return { ...rest, ...(data ? { data: hide(data) } : {}), ...(stringData ? { stringData: hide(stringData) } : {}) };
  });
}
