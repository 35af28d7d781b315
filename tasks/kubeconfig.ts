import { flag, stringOption } from '../lib/options.js';
import { asTaskError } from '../lib/errors.js';
import { type Task, sayConfig } from '../lib/task.js';

const task: Task = {
  summary: "fetch the cluster's kubeconfig again and merge it into yours",
  usage: ['kubeconfig [--kubeconfig <file>] [--dry-run]'],
  details: 'Reads k3s.yaml from the host over SSH, points it at the host, names it after k3s.context,\nand merges it (mode 0600) keeping every other context.',
  options: {
    kubeconfig: { type: 'string', value: 'file', description: 'the file to merge into (default: $KUBECONFIG or ~/.kube/config)' },
    'dry-run': { type: 'boolean', description: 'say what would be merged where' },
  },
  async run(input) {
    const kubeconfig = stringOption(input, 'kubeconfig', 'kubeconfig');
    const loaded = input.config();
    sayConfig(input.io, loaded);
    const { runBootstrap } = await import('../lib/bootstrap.js');
    try {
      await runBootstrap(loaded.config, ['kubeconfig'], {
        dryRun: flag(input, 'dry-run'),
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
};

export default task;
