/** Where the platform lives on the cluster, named once for the renderers, the waits and the tasks. */
export const NAMESPACE = 'raibid';
/** k3s's convention: HelmCharts sit in kube-system, their releases in their target namespaces. */
export const CHART_NAMESPACE = 'kube-system';

export const RELEASES = { redis: 'raibid-redis', gitea: 'gitea', keda: 'keda', flux: 'flux2' } as const;

export const REDIS_PORT = 6379;
export const REDIS_HOST = `${RELEASES.redis}.${NAMESPACE}.svc.cluster.local`;
export const GITEA_HTTP_SERVICE = `${RELEASES.gitea}-http.${NAMESPACE}.svc.cluster.local:3000`;

export const SECRETS = {
  redis: 'raibid-redis',
  giteaAdmin: 'raibid-gitea-admin',
  giteaToken: 'raibid-gitea-token',
  giteaRead: 'raibid-gitea-read',
  webhook: 'raibid-webhook',
  githubStatus: 'raibid-github-status',
  fluxGit: 'raibid-flux-git',
} as const;

export const CONFIG_REPO = 'cluster-config';
export const FLUX_NAMESPACE = 'flux-system';
export const KEDA_NAMESPACE = 'keda';
/** Where the in-cluster dispatcher (`serve`) receives Gitea's push webhooks. */
export const DISPATCH_HOOK_URL = `http://raibid-serve.${NAMESPACE}.svc.cluster.local:8080/hooks/gitea`;

export const PART_OF = { 'app.kubernetes.io/part-of': 'raibid' };
