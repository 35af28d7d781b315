import { Listr, type ListrTask } from 'listr2';
import { type Hosts, connectHosts } from './bootstrap.js';
import type { Config } from './config.js';
import { type Manifest, describeObject, readObject } from './kube/apply.js';
import { type Cluster, connectCluster, kubeconfigFromFile } from './kube/client.js';
import { type TeardownGroup, deleteObject, teardownGroups, uninstallK3s } from './teardown.js';

export interface TeardownOptions {
  keepData: boolean;
  dryRun: boolean;
  /** The kubeconfig with the cluster's context. */
  kubeconfig: string;
  /** What each step found and did, as it goes. */
  say: (line: string) => void;
  /** Spinners for a person at a terminal; plain lines otherwise. */
  interactive: boolean;
}

export interface TeardownResult {
  dryRun: boolean;
  /** Objects deleted (those already gone are not counted). */
  removed: number;
  /** What happened to k3s on each host, or why it was left alone. */
  k3s: string[];
}

const unreachable = (error: unknown) =>
  /ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT|ENOTFOUND|socket hang up|fetch failed/.test(String((error as Error).message ?? error));

/** With k3s going too, a cluster that does not answer is no reason to stop: its objects go with it. */
const uninstallsK3s = (config: Config, keepData: boolean) => !keepData && config.host !== undefined;

interface RunState {
  cluster: Cluster | undefined;
  removed: number;
  /** The cluster stopped answering while k3s goes anyway: the rest of its objects go with it. */
  clusterGone: boolean;
}

/** In a dry run, whether the object is there; undefined once the cluster could not be asked. */
async function present(state: RunState, object: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>, say: (line: string) => void): Promise<boolean | undefined> {
  if (!state.cluster) return undefined;
  try {
    return (await readObject(state.cluster, object)) !== undefined;
  } catch (error) {
    say(`  could not look at the cluster (${(error as Error).message.split('\n')[0]}): listing the rest unchecked`);
    state.cluster = undefined;
    return undefined;
  }
}

function groupTask(group: TeardownGroup, state: RunState, config: Config, options: TeardownOptions): ListrTask {
  const wait = { timeoutMs: config.platform.timeoutSeconds * 1000, pollMs: config.platform.pollSeconds * 1000 };
  return {
    title: group.title,
    skip: () => group.objects.length === 0 || state.clusterGone || (!options.dryRun && !state.cluster),
    task: async (_, task) => {
      options.say(`${group.title}:`);
      let deleted = 0;
      for (const object of group.objects) {
        if (options.dryRun) {
          options.say(`  ${(await present(state, object, options.say)) === false ? 'already gone:' : 'would delete'} ${describeObject(object)}`);
          continue;
        }
        try {
          const outcome = await deleteObject(state.cluster!, object, wait);
          if (outcome === 'deleted') deleted += 1;
          options.say(`  ${describeObject(object)} ${outcome === 'deleted' ? 'deleted' : 'already gone'}`);
        } catch (error) {
          if (!(uninstallsK3s(config, options.keepData) && unreachable(error))) throw error;
          options.say('  the cluster does not answer: its objects go with k3s');
          state.clusterGone = true;
          return;
        }
      }
      state.removed += deleted;
      task.title = options.dryRun ? `${group.title}: ${group.objects.length} to delete` : `${group.title}: ${deleted} deleted`;
    },
  };
}

function k3sTask(config: Config, hosts: () => Hosts, k3s: string[], options: TeardownOptions): ListrTask {
  const note = (line: string) => (k3s.push(line), options.say(line));
  return {
    title: 'k3s',
    task: async (_, task) => {
      if (options.keepData) return note('k3s kept (--keep-data): its uninstall would delete the volumes');
      if (!config.host) return note('no host in the config: k3s left alone');
      const { workers, server } = hosts();
      for (const worker of workers) note(await uninstallK3s(worker, 'agent', options.dryRun));
      note(await uninstallK3s(server, 'server', options.dryRun));
      task.title = `k3s: ${workers.length + 1} host${workers.length > 0 ? 's' : ''}`;
    },
  };
}

/**
 * Teardown as a listr2 list, in reverse order of bootstrap: each group of cluster objects, then
 * k3s on the workers and the server. The plan is teardownGroups' (pure), run or (--dry-run) said.
 */
export async function runTeardown(config: Config, options: TeardownOptions): Promise<TeardownResult> {
  const state: RunState = { cluster: undefined, removed: 0, clusterGone: false };
  try {
    state.cluster = connectCluster(kubeconfigFromFile(options.kubeconfig, config.k3s.context));
  } catch (error) {
    if (options.dryRun) options.say(`could not look at the cluster (${(error as Error).message}): listing everything teardown would try to delete`);
    else if (!uninstallsK3s(config, options.keepData)) throw error;
    else options.say(`no kubeconfig at ${options.kubeconfig}: the cluster's objects go with k3s`);
  }
  let hosts: Hosts | undefined;
  const k3s: string[] = [];
  const list = new Listr(
    [
      ...teardownGroups(config, options.keepData).map((g) => groupTask(g, state, config, options)),
      k3sTask(config, () => (hosts ??= connectHosts(config)), k3s, options),
    ],
    {
      concurrent: false,
      exitOnError: true,
      renderer: options.interactive ? 'default' : 'simple',
      fallbackRenderer: 'simple',
    },
  );
  try {
    await list.run();
  } finally {
    await hosts?.close();
  }
  return { dryRun: options.dryRun, removed: state.removed, k3s };
}
