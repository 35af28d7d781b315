import { runBootstrap, selectStages, STAGES } from '../lib/bootstrap.js';
import { flag, stringOption } from '../lib/options.js';
import type { Task } from '../lib/task.js';

const task: Task = {
  summary: 'install k3s on the host and workers over SSH and fetch the kubeconfig',
  usage: ['bootstrap [--only <stages>] [--skip <stages>] [--dry-run] [--kubeconfig <file>]'],
  details:
    `Stages, in order: ${STAGES.join(', ')} (k3s: install and join, merge the kubeconfig, wait for\n` +
    'every node to be Ready). Each host already as planned is left alone, so a re-run on a\n' +
    'converged cluster changes nothing. --dry-run prints every remote step (secrets\n' +
    'left out) and changes nothing. (The platform stages — Gitea, Redis, KEDA, Flux, agents —\n' +
    'are not in this release yet.)',
  options: {
    only: { type: 'string', value: 'stages', description: `run only these stages, comma-separated (${STAGES.join(', ')})` },
    skip: { type: 'string', value: 'stages', description: 'leave these stages out' },
    'dry-run': { type: 'boolean', description: 'print the plan, change nothing' },
    kubeconfig: { type: 'string', value: 'file', description: 'merge the context into this file (default: $KUBECONFIG or ~/.kube/config)' },
  },
  async run(input) {
    const stages = selectStages(stringOption(input, 'bootstrap', 'only'), stringOption(input, 'bootstrap', 'skip'));
    const loaded = input.config();
    await runBootstrap(loaded.config, stages, {
      dryRun: flag(input, 'dry-run'),
      kubeconfig: stringOption(input, 'bootstrap', 'kubeconfig'),
      io: input.io,
      given: loaded.secrets,
    });
    return 0;
  },
};

export default task;
