import type { Manifest } from '../kube/apply.js';
import { CHART_NAMESPACE, PART_OF } from './names.js';

/**
 * k3s's helm-controller on its own, for clusters that are not k3s (kubeadm and the like), so the
 * same HelmCharts install there. It creates its CRDs itself when it starts.
 */
export const HELM_CONTROLLER_IMAGE = 'docker.io/rancher/helm-controller:v0.16.18';
export const HELM_JOB_IMAGE = 'docker.io/rancher/klipper-helm:v0.9.10-build20251111';
export const HELM_CHART_CRD = 'helmcharts.helm.cattle.io';

const NAME = 'helm-controller';

export function renderHelmController(): Manifest[] {
  const labels = { ...PART_OF, 'app.kubernetes.io/name': NAME };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: CHART_NAMESPACE, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: CHART_NAMESPACE }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: CHART_NAMESPACE, labels },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { 'app.kubernetes.io/name': NAME } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: NAME,
            containers: [
              {
                name: NAME,
                image: HELM_CONTROLLER_IMAGE,
                command: ['helm-controller'],
                env: [
                  { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                  { name: 'JOB_CLUSTER_ROLE', value: 'cluster-admin' },
                  { name: 'DEFAULT_JOB_IMAGE', value: HELM_JOB_IMAGE },
                ],
                resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              },
            ],
          },
        },
      },
    },
  ];
}
