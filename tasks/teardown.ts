import { createInterface } from 'node:readline/promises';
import { UserError } from '../lib/errors.js';
import type { Cluster } from '../lib/kube/client.js';
import { flag, stringOption } from '../lib/options.js';
import { kubeconfigPath } from '../lib/paths.js';
import { type Task, type TaskInput, print, sayConfig } from '../lib/task.js';

async function confirmed(input: TaskInput, context: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`This removes the raibid platform${flag(input, 'keep-data') ? ' (volumes kept)' : ', its data, and k3s'} from context ${context}. Type its name to go on: `);
  rl.close();
  return answer.trim() === context;
}

const unreachable = (error: unknown) => /ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT|ENOTFOUND|socket hang up|fetch failed/.test(String((error as Error).message ?? error));

const task: Task = {
  summary: 'remove the agents, Flux, KEDA, Redis, Gitea and k3s again, in reverse order',
  usage: ['teardown [--yes] [--keep-data] [--dry-run] [--kubeconfig <file>]'],
  details:
    'Deletes, in this order: the agents and the webhook receiver, Flux, KEDA, Redis, Gitea (each\n' +
    "chart waited for until helm-controller has uninstalled it), the platform's Secrets and\n" +
    'namespaces, then k3s on the workers (k3s-agent-uninstall.sh) and the server (k3s-uninstall.sh).\n' +
    'What is gone already is skipped, so a half-finished teardown is finished off by running it\n' +
    'again. --keep-data keeps the volumes (Gitea, Redis, the cargo cache), their namespaces and\n' +
    "Secrets, and k3s, whose uninstall would delete them. Asks first unless --yes.",
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
      throw new UserError('teardown: asks before removing anything, and there is no terminal to ask at', { hint: 'pass --yes to go ahead (or --dry-run to see what it would remove)' });
    }
    sayConfig(io, loaded);
    if (asks && !(await confirmed(input, context))) {
      print(io, 'teardown: nothing removed');
      return 1;
    }
    const [{ connectHosts }, { connectCluster, kubeconfigFromFile }, { describeObject, readObject }, { deleteObject, teardownGroups, uninstallK3s }] = await Promise.all([
      import('../lib/bootstrap.js'),
      import('../lib/kube/client.js'),
      import('../lib/kube/apply.js'),
      import('../lib/teardown.js'),
    ]);
    const uninstallsK3s = !keepData && config.host !== undefined;
    let cluster: Cluster | undefined;
    try {
      cluster = connectCluster(kubeconfigFromFile(kubeconfig, context));
    } catch (error) {
      if (dryRun) print(io, `could not look at the cluster (${(error as Error).message}): listing everything teardown would try to delete`);
      else if (!uninstallsK3s) throw error;
      else print(io, `no kubeconfig at ${kubeconfig}: the cluster's objects go with k3s`);
    }
    /** In a dry run, whether the object is there; undefined once the cluster could not be asked. */
    const present = async (object: Parameters<typeof readObject>[1]): Promise<boolean | undefined> => {
      if (!cluster) return undefined;
      try {
        return (await readObject(cluster, object)) !== undefined;
      } catch (error) {
        print(io, `  could not look at the cluster (${(error as Error).message.split('\n')[0]}): listing the rest unchecked`);
        cluster = undefined;
        return undefined;
      }
    };
    const wait = { timeoutMs: config.platform.timeoutSeconds * 1000, pollMs: config.platform.pollSeconds * 1000 };
    let removed = 0;
    groups: for (const group of teardownGroups(config, keepData)) {
      if (group.objects.length === 0) continue;
      print(io, `${group.title}:`);
      for (const object of group.objects) {
        if (dryRun) {
          print(io, `  ${(await present(object)) === false ? 'already gone:' : 'would delete'} ${describeObject(object)}`);
          continue;
        }
        if (!cluster) break groups;
        try {
          const outcome = await deleteObject(cluster, object, wait);
          if (outcome === 'deleted') removed += 1;
          print(io, `  ${describeObject(object)} ${outcome === 'deleted' ? 'deleted' : 'already gone'}`);
        } catch (error) {
          if (!(uninstallsK3s && unreachable(error))) throw error;
          print(io, `  the cluster does not answer: its objects go with k3s`);
          break groups;
        }
      }
    }
    if (keepData) print(io, 'k3s kept (--keep-data): its uninstall would delete the volumes');
    else if (!config.host) print(io, 'no host in the config: k3s left alone');
    else {
      const hosts = connectHosts(config);
      try {
        for (const worker of hosts.workers) print(io, await uninstallK3s(worker, 'agent', dryRun));
        print(io, await uninstallK3s(hosts.server, 'server', dryRun));
      } finally {
        await hosts.close();
      }
    }
    if (!dryRun) print(io, `teardown done: ${removed} objects deleted${uninstallsK3s ? ', k3s uninstalled where it was installed' : ''}`);
    return 0;
  },
};

export default task;
