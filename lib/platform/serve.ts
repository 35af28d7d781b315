import { stringify } from 'yaml';
import { isNamedHost } from '../hosts.js';
import type { Config } from '../config.js';
import type { Manifest } from '../kube/apply.js';
import { giteaUrl } from './charts.js';
import { NAMESPACE, PART_OF, SECRETS } from './names.js';

const NAME = 'raibid-serve';
const PORT = 8080;
const secretEnv = (name: string, secret: string, key: string, optional = false) => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key, ...(optional ? { optional } : {}) } },
});

/**
 * The webhook receiver in the cluster, from the same bundle as the agents: Gitea's system push
 * webhook reaches it inside the cluster, GitHub's through the ingress at /hooks/github, and
 * people's browsers its job pages at /jobs.
 */
export function renderServe(config: Config): Manifest[] {
  const labels = { ...PART_OF, 'app.kubernetes.io/name': NAME };
  const host = new URL(giteaUrl(config) ?? 'http://localhost').hostname;
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${NAME}-config`, namespace: NAMESPACE, labels },
      data: {
        'config.yaml': stringify({
          gitea: { url: giteaUrl(config) },
          github: config.github,
          mirror: config.mirror,
          queue: config.queue,
          statuses: config.statuses,
          webhook: { port: PORT, ...(config.webhook.publicUrl ? { publicUrl: config.webhook.publicUrl } : {}) },
        }),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': NAME } },
        template: {
          metadata: { labels },
          spec: {
            enableServiceLinks: false,
            containers: [
              {
                name: 'serve',
                image: 'docker.io/library/node:24-bookworm-slim',
                command: ['sh', '-c', 'gunzip -c /bundle/raibid-pod.cjs.gz > /tmp/raibid-pod.cjs && exec node /tmp/raibid-pod.cjs serve --host 0.0.0.0'],
                env: [
                  { name: 'RAIBID_CONFIG', value: '/etc/raibid/config.yaml' },
                  secretEnv('RAIBID_REDIS_URL', SECRETS.redis, 'url'),
                  secretEnv('RAIBID_WEBHOOK_SECRET', SECRETS.webhook, 'secret'),
                  secretEnv('GITEA_TOKEN', SECRETS.giteaToken, 'token', true),
                  // for commit statuses on GitHub: a token with repo:status, put there by hand (kubectl create secret)
                  secretEnv('GITHUB_TOKEN', SECRETS.githubStatus, 'token', true),
                  { name: 'NO_COLOR', value: '1' },
                ],
                ports: [{ name: 'http', containerPort: PORT }],
                readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
                resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
                volumeMounts: [
                  { name: 'bundle', mountPath: '/bundle', readOnly: true },
                  { name: 'config', mountPath: '/etc/raibid', readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'bundle', configMap: { name: 'raibid-agent-bundle' } },
              { name: 'config', configMap: { name: `${NAME}-config` } },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: NAME, namespace: NAMESPACE, labels },
      spec: { selector: { 'app.kubernetes.io/name': NAME }, ports: [{ name: 'http', port: PORT, targetPort: 'http' }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: NAME, namespace: NAMESPACE, labels },
      spec: {
        ingressClassName: 'traefik',
        rules: [
          {
            ...(isNamedHost(host) ? { host } : {}),
            http: {
              paths: [
                { path: '/hooks/github', pathType: 'Exact', backend: { service: { name: NAME, port: { name: 'http' } } } },
                // the job pages commit statuses link to; each link carries its own token
                { path: '/jobs', pathType: 'Prefix', backend: { service: { name: NAME, port: { name: 'http' } } } },
              ],
            },
          },
        ],
      },
    },
  ];
}
