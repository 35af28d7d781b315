import { UserError } from './errors.js';

export const PLATFORM_STEPS = ['platform', 'gitea', 'flux', 'agents'] as const;
export type PlatformStep = (typeof PLATFORM_STEPS)[number];

/**
 * What --only and --skip choose from; k3s is install and join, kubeconfig, nodes Ready; platform
 * is the charts (Redis, KEDA, Gitea, Flux), gitea its setup through the API.
 */
export const STAGES = ['preflight', 'k3s', ...PLATFORM_STEPS] as const;
export type Stage = (typeof STAGES)[number];

/** `--only` / `--skip` to the stages to run, in order; a name not a stage is an error. */
export function selectStages(only: string | undefined, skip: string | undefined): Stage[] {
  const parse = (list: string | undefined, flag: string) =>
    (list ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((name) => {
        if (!STAGES.includes(name as Stage)) {
          throw new UserError(`bootstrap: --${flag} '${name}' is not a stage`, { hint: `stages: ${STAGES.join(', ')}` });
        }
        return name as Stage;
      });
  const chosen = only ? parse(only, 'only') : [...STAGES];
  const skipped = parse(skip, 'skip');
  return STAGES.filter((s) => chosen.includes(s) && !skipped.includes(s));
}
