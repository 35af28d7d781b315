import { stringify } from 'yaml';
import { CHART_PINS } from './charts.js';
import { NAMESPACE, PART_OF } from './names.js';

export const FLUX_CHECK = 'raibid-flux-sync';

/**
 * What the config repo starts with: a kustomization Flux applies, holding one ConfigMap whose
 * presence on the cluster shows the sync works. The rest of the repo is the user's.
 */
export function configRepoSeed(): Record<string, string> {
  const check = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: FLUX_CHECK, namespace: NAMESPACE, labels: PART_OF },
    data: Object.fromEntries(Object.entries(CHART_PINS).map(([key, pin]) => [key, `${pin.chart} ${pin.version}`])),
  };
  return {
    'README.md':
      '# Cluster config\n\nFlux applies this repository to the raibid cluster (every minute, branch main).\n' +
      'Add manifests here and list them in kustomization.yaml; remove them to delete them from the cluster.\n' +
      'raibid-task seeded it once and never writes to it again.\n',
    'kustomization.yaml': stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['flux-sync.yaml'] }),
    'flux-sync.yaml': stringify(check),
  };
}
