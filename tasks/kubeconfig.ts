import { bootstrapTasks, connectHosts } from '../lib/bootstrap.js';
import { flag, stringOption } from '../lib/options.js';
import { defaultKubeconfig, expandHome } from '../lib/paths.js';
import { type Task, print } from '../lib/task.js';

const task: Task = {
  summary: "fetch the cluster's kubeconfig again and merge it into yours",
  usage: ['kubeconfig [--kubeconfig <file>] [--dry-run]'],
  details: 'Reads k3s.yaml from the host over SSH, points it at the host, names it after k3s.context,\nand merges it (mode 0600) keeping every other context.',
  options: {
    kubeconfig: { type: 'string', value: 'file', description: 'the file to merge into (default: $KUBECONFIG or ~/.kube/config)' },
    'dry-run': { type: 'boolean', description: 'say what would be merged where' },
  },
  async run(input) {
    const { io } = input;
    const file = stringOption(input, 'kubeconfig', 'kubeconfig');
    const { config } = input.config();
    const hosts = connectHosts({ ...config, nodes: [] });
    try {
      await bootstrapTasks(config, hosts, {
        stages: ['kubeconfig'],
        dryRun: flag(input, 'dry-run'),
        kubeconfig: file ? expandHome(file) : defaultKubeconfig(io.env),
        say: (line) => print(io, line),
        interactive: Boolean(io.stdout.isTTY) && !io.env.CI,
      }).run();
    } finally {
      await hosts.close();
    }
    return 0;
  },
};

export default task;
