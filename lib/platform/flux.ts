import type { Config } from '../config.js';
import type { Manifest } from '../kube/apply.js';
import { CONFIG_REPO, FLUX_NAMESPACE, GITEA_HTTP_SERVICE, PART_OF, SECRETS } from './names.js';

/** The config repo as Flux reaches it, inside the cluster. */
export const configRepoClusterUrl = (config: Config) => `http://${GITEA_HTTP_SERVICE}/${config.gitea.org}/${CONFIG_REPO}.git`;

/**
 * Flux syncing the config repo (branch main) into the cluster: a GitRepository read with the
 * Gitea token (Secret raibid-flux-git, written by the Gitea setup) and a Kustomization of its root.
 */
export function renderFlux(config: Config): Manifest[] {
  return [
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: CONFIG_REPO, namespace: FLUX_NAMESPACE, labels: PART_OF },
      spec: { url: configRepoClusterUrl(config), ref: { branch: 'main' }, interval: '1m', timeout: '60s', secretRef: { name: SECRETS.fluxGit } },
    },
    {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: CONFIG_REPO, namespace: FLUX_NAMESPACE, labels: PART_OF },
      spec: {
        interval: '10m',
        retryInterval: '1m',
        path: './',
        prune: true,
        wait: false,
        timeout: '5m',
        sourceRef: { kind: 'GitRepository', name: CONFIG_REPO },
      },
    },
  ];
}
