import type { Config } from '../config.js';
import type { Manifest } from '../kube/apply.js';
import { renderAgents } from './agents.js';
import { type ChartSpec, renderCharts } from './charts.js';
import { renderFlux } from './flux.js';
import { FLUX_NAMESPACE, KEDA_NAMESPACE, NAMESPACE, PART_OF } from './names.js';
import { type PlatformSecrets, renderSecrets } from './secrets.js';
import { renderServe } from './serve.js';

export const RENDER_GROUPS = ['platform', 'flux', 'agents'] as const;
export type RenderGroup = (typeof RENDER_GROUPS)[number];

export const namespaces = (): Manifest[] =>
  [NAMESPACE, KEDA_NAMESPACE, FLUX_NAMESPACE].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: PART_OF } }));

export interface Rendered {
  /** Namespaces and Secrets, applied before the charts that read them. */
  base: Manifest[];
  charts: ChartSpec[];
  flux: Manifest[];
  agents: Manifest[];
}

/** Every object of the platform, from the config alone (pure: the bundle and secrets are passed in). */
export function renderAll(config: Config, secrets: PlatformSecrets, bundle: Buffer | string): Rendered {
  return {
    base: [...namespaces(), ...renderSecrets(config, secrets)],
    charts: renderCharts(config),
    flux: renderFlux(config),
    agents: [...renderAgents(config, bundle), ...renderServe(config)],
  };
}

export function selectGroup(rendered: Rendered, group: RenderGroup | undefined): Manifest[] {
  const platform = [...rendered.base, ...rendered.charts.map((c) => c.manifest)];
  if (group === 'platform') return platform;
  if (group) return rendered[group];
  return [...platform, ...rendered.flux, ...rendered.agents];
}
