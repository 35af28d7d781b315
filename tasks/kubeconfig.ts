import { asTaskError } from '../lib/errors.js';
import { defineTask, sayConfig } from '../lib/task.js';

export default defineTask({
  summary: "fetch the cluster's kubeconfig again and merge it into yours",
  usage: ['kubeconfig [--kubeconfig <file>] [--dry-run]'],
  details: 'Reads k3s.yaml from the host over SSH, points it at the host, names it after k3s.context,\nand merges it (mode 0600) keeping every other context.',
  options: {
    kubeconfig: { kind: 'string', value: 'file', description: 'the file to merge into (default: $KUBECONFIG or ~/.kube/config)' },
    'dry-run': { kind: 'boolean', description: 'say what would be merged where' },
  },
  async run(input) {
    const { kubeconfig, 'dry-run': dryRun } = input.options;
    const loaded = input.config();
    sayConfig(input.io, loaded);
    const { runBootstrap } = await import('../lib/bootstrap.js');
    try {
      await runBootstrap(loaded.config, ['kubeconfig'], {
        dryRun,
        kubeconfig,
        io: input.io,
        given: loaded.secrets,
        task: 'kubeconfig',
      });
    } catch (error) {
      throw asTaskError('kubeconfig', error);
    }
    return 0;
  },
});
