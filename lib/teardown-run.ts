import { type Hosts, connectHosts } from './bootstrap.js';
import type { Config } from './config.js';
import { type Manifest, describeObject, readObject } from './kube/apply.js';
import { type Cluster, connectCluster, kubeconfigFromFile } from './kube/client.js';
import { type Progress, type Step, runSteps } from './steps.js';
import { type TeardownGroup, deleteObject, teardownGroups, uninstallK3s } from './teardown.js';

export interface TeardownOptions {
  keepData: boolean;
  dryRun: boolean;
  /** The kubeconfig with the cluster's context. */
  kubeconfig: string;
  /** What each step found and did, as it goes. */
  say: (line: string) => void;
  /** Spinners for a person at a terminal; plain lines otherwise. */
  progress: Progress;
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

/** What teardown's steps share; the counts and notes they leave are its result. */
interface TeardownContext {
  config: Config;
  options: TeardownOptions;
  /** Undefined once the cluster could not be asked (a dry run lists the rest unchecked). */
  cluster: Cluster | undefined;
  /** The cluster stopped answering while k3s goes anyway: the rest of its objects go with it. */
  clusterGone: boolean;
  removed: number;
  k3s: string[];
  /** Connected on first use. */
  hosts: () => Hosts;
}

/** In a dry run, whether the object is there; undefined once the cluster could not be asked. */
async function present(context: TeardownContext, object: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): Promise<boolean | undefined> {
  if (!context.cluster) return undefined;
  try {
    return (await readObject(context.cluster, object)) !== undefined;
  } catch (error) {
    context.options.say(`  could not look at the cluster (${(error as Error).message.split('\n')[0]}): listing the rest unchecked`);
    context.cluster = undefined;
    return undefined;
  }
}

function groupStep(group: TeardownGroup): Step<TeardownContext> {
  return {
    title: group.title,
    skip: (context) => group.objects.length === 0 || context.clusterGone || (!context.options.dryRun && !context.cluster),
    run: async (context) => {
      const { config, options } = context;
      const wait = { timeoutMs: config.platform.timeoutSeconds * 1000, pollMs: config.platform.pollSeconds * 1000 };
      options.say(`${group.title}:`);
      let deleted = 0;
      for (const object of group.objects) {
        if (options.dryRun) {
          options.say(`  ${(await present(context, object)) === false ? 'already gone:' : 'would delete'} ${describeObject(object)}`);
          continue;
        }
        try {
          const outcome = await deleteObject(context.cluster!, object, wait);
          if (outcome === 'deleted') deleted += 1;
          options.say(`  ${describeObject(object)} ${outcome === 'deleted' ? 'deleted' : 'already gone'}`);
        } catch (error) {
          if (!(uninstallsK3s(config, options.keepData) && unreachable(error))) throw error;
          options.say('  the cluster does not answer: its objects go with k3s');
          context.clusterGone = true;
          return;
        }
      }
      context.removed += deleted;
      return options.dryRun ? `${group.title}: ${group.objects.length} to delete` : `${group.title}: ${deleted} deleted`;
    },
  };
}

const k3s: Step<TeardownContext> = {
  title: 'k3s',
  run: async (context) => {
    const { config, options } = context;
    const note = (line: string) => (context.k3s.push(line), options.say(line));
    if (options.keepData) return note('k3s kept (--keep-data): its uninstall would delete the volumes');
    if (!config.host) return note('no host in the config: k3s left alone');
    const { workers, server } = context.hosts();
    for (const worker of workers) note(await uninstallK3s(worker, 'agent', options.dryRun));
    note(await uninstallK3s(server, 'server', options.dryRun));
    return `k3s: ${workers.length + 1} host${workers.length > 0 ? 's' : ''}`;
  },
};

/**
 * Teardown's steps, in reverse order of bootstrap: each group of cluster objects, then k3s on the
 * workers and the server. The plan is teardownGroups' (pure), run or (--dry-run) said.
 */
export async function runTeardown(config: Config, options: TeardownOptions): Promise<TeardownResult> {
  let hosts: Hosts | undefined;
  const context: TeardownContext = {
    config,
    options,
    cluster: undefined,
    clusterGone: false,
    removed: 0,
    k3s: [],
    hosts: () => (hosts ??= connectHosts(config)),
  };
  try {
    context.cluster = connectCluster(kubeconfigFromFile(options.kubeconfig, config.k3s.context));
  } catch (error) {
    if (options.dryRun) options.say(`could not look at the cluster (${(error as Error).message}): listing everything teardown would try to delete`);
    else if (!uninstallsK3s(config, options.keepData)) throw error;
    else options.say(`no kubeconfig at ${options.kubeconfig}: the cluster's objects go with k3s`);
  }
  try {
    await runSteps([...teardownGroups(config, options.keepData).map(groupStep), k3s], context, options);
  } finally {
    await hosts?.close();
  }
  return { dryRun: options.dryRun, removed: context.removed, k3s: context.k3s };
}
