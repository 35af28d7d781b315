import { STAGES, selectStages } from '../lib/stages.js';
import { defineTask, sayConfig } from '../lib/task.js';

export default defineTask({
  summary: 'install k3s over SSH (or here), then Gitea, Redis, KEDA, Flux and the agents on it',
  usage: ['bootstrap [--only <stages>] [--skip <stages>] [--dry-run] [--kubeconfig <file>] [--local]'],
  details:
    `Stages, in order: ${STAGES.join(', ')}.\n` +
    'k3s: install and join over SSH, merge the kubeconfig, wait for every node to be Ready.\n' +
    'platform: Redis (Valkey), KEDA, Gitea and Flux as HelmCharts, each waited for (install Job\n' +
    'and workloads). gitea: token, org, config repo and webhook through its API. flux: the sync of\n' +
    'the config repo. agents: the KEDA ScaledJob. Without the k3s stage the platform goes onto the\n' +
    "kubeconfig's k3s.context (any cluster: one without k3s gets helm-controller first).\n" +
    'What is already as planned is left alone, so a re-run on a converged cluster changes nothing.\n' +
    '--dry-run prints every remote step and object (no secret values) and changes nothing.\n' +
    'On the DGX Spark itself: host.address localhost (or --local, with the address the workers\n' +
    'reach it at) runs the same steps on this machine, as root or through sudo -n, without SSH.',
  options: {
    only: { kind: 'string', value: 'stages', description: `run only these stages, comma-separated (${STAGES.join(', ')})` },
    skip: { kind: 'string', value: 'stages', description: 'leave these stages out' },
    'dry-run': { kind: 'boolean', description: 'print the plan, change nothing' },
    kubeconfig: { kind: 'string', value: 'file', description: 'merge the context into this file (default: $KUBECONFIG or ~/.kube/config)' },
    local: { kind: 'boolean', description: 'the server is this machine: run its steps here, not over SSH' },
  },
  async run(input) {
    const { only, skip, kubeconfig, 'dry-run': dryRun, local } = input.options;
    const stages = selectStages(only, skip);
    const loaded = input.config();
    sayConfig(input.io, loaded);
    const { runBootstrap } = await import('../lib/bootstrap.js');
    await runBootstrap(loaded.config, stages, {
      dryRun,
      kubeconfig,
      io: input.io,
      given: loaded.secrets,
      local,
    });
    return 0;
  },
});
