import { createInterface } from 'node:readline/promises';
import { UserError } from '../lib/errors.js';
import { flag, stringOption } from '../lib/options.js';
import { kubeconfigPath } from '../lib/paths.js';
import { progressFor } from '../lib/steps.js';
import { type Task, type TaskInput, print, sayConfig } from '../lib/task.js';

async function confirmed(input: TaskInput, context: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(
    `This removes the raibid platform${flag(input, 'keep-data') ? ' (volumes kept)' : ', its data, and k3s'} from context ${context}. Type its name to go on: `,
  );
  rl.close();
  return answer.trim() === context;
}

const task: Task = {
  summary: 'remove the agents, Flux, KEDA, Redis, Gitea and k3s again, in reverse order',
  usage: ['teardown [--yes] [--keep-data] [--dry-run] [--kubeconfig <file>]'],
  details:
    'Deletes, in this order: the agents and the webhook receiver, Flux, KEDA, Redis, Gitea (each\n' +
    "chart waited for until helm-controller has uninstalled it), the platform's Secrets and\n" +
    'namespaces, then k3s on the workers (k3s-agent-uninstall.sh) and the server (k3s-uninstall.sh).\n' +
    'What is gone already is skipped, so a half-finished teardown is finished off by running it\n' +
    'again. --keep-data keeps the volumes (Gitea, Redis, the cargo cache), their namespaces and\n' +
    'Secrets, and k3s, whose uninstall would delete them. Asks first unless --yes.',
  options: {
    yes: { type: 'boolean', short: 'y', description: 'do not ask' },
    'keep-data': { type: 'boolean', description: 'keep volumes, their namespaces and Secrets, and k3s' },
    'dry-run': { type: 'boolean', description: 'print what would be removed, remove nothing' },
    kubeconfig: { type: 'string', value: 'file', description: 'the kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)' },
  },
  async run(input) {
    const { io } = input;
    const kubeconfig = kubeconfigPath(stringOption(input, 'teardown', 'kubeconfig'), io.env);
    const loaded = input.config();
    const { config } = loaded;
    const dryRun = flag(input, 'dry-run');
    const keepData = flag(input, 'keep-data');
    const context = config.k3s.context;
    const asks = !dryRun && !flag(input, 'yes');
    if (asks && (!io.stdout.isTTY || !process.stdin.isTTY)) {
      throw new UserError('teardown: asks before removing anything, and there is no terminal to ask at', {
        hint: 'pass --yes to go ahead (or --dry-run to see what it would remove)',
      });
    }
    sayConfig(io, loaded);
    if (asks && !(await confirmed(input, context))) {
      print(io, 'teardown: nothing removed');
      return 1;
    }
    // the Kubernetes client takes a second to load: only once teardown really runs
    const { runTeardown } = await import('../lib/teardown-run.js');
    const result = await runTeardown(config, {
      keepData,
      dryRun,
      kubeconfig,
      say: (line) => print(io, line),
      progress: progressFor(io.stdout, io.env),
    });
    if (!dryRun) print(io, `teardown done: ${result.removed} objects deleted${!keepData && config.host ? ', k3s uninstalled where it was installed' : ''}`);
    return 0;
  },
};

export default task;
