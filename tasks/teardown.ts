import { createInterface } from 'node:readline/promises';
import { UserError } from '../lib/errors.js';
import { defineOptions } from '../lib/options.js';
import { kubeconfigPath } from '../lib/paths.js';
import { progressFor } from '../lib/steps.js';
import { type TaskInput, defineTask, print, sayConfig } from '../lib/task.js';

const options = defineOptions({
  yes: { kind: 'boolean', short: 'y', description: 'do not ask' },
  'keep-data': { kind: 'boolean', description: 'keep volumes, their namespaces and Secrets, and k3s' },
  'dry-run': { kind: 'boolean', description: 'print what would be removed, remove nothing' },
  kubeconfig: { kind: 'string', value: 'file', description: 'the kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)' },
});

async function confirmed(input: TaskInput<typeof options>, context: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(
    `This removes the raibid platform${input.options['keep-data'] ? ' (volumes kept)' : ', its data, and k3s'} from context ${context}. Type its name to go on: `,
  );
  rl.close();
  return answer.trim() === context;
}

export default defineTask({
  summary: 'remove the agents, Flux, KEDA, Redis, Gitea and k3s again, in reverse order',
  usage: ['teardown [--yes] [--keep-data] [--dry-run] [--kubeconfig <file>]'],
  details:
    'Deletes, in this order: the agents and the webhook receiver, Flux, KEDA, Redis, Gitea (each\n' +
    "chart waited for until helm-controller has uninstalled it), the platform's Secrets and\n" +
    'namespaces, then k3s on the workers (k3s-agent-uninstall.sh) and the server (k3s-uninstall.sh).\n' +
    'What is gone already is skipped, so a half-finished teardown is finished off by running it\n' +
    'again. --keep-data keeps the volumes (Gitea, Redis, the cargo cache), their namespaces and\n' +
    'Secrets, and k3s, whose uninstall would delete them. Asks first unless --yes.',
  options,
  async run(input) {
    const { io } = input;
    const { 'dry-run': dryRun, 'keep-data': keepData, yes } = input.options;
    const kubeconfig = kubeconfigPath(input.options.kubeconfig, io.env);
    const loaded = input.config();
    const { config } = loaded;
    const context = config.k3s.context;
    const asks = !dryRun && !yes;
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
});
