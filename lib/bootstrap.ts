import { Listr, type ListrTask } from 'listr2';
import type { Config, Secrets } from './config.js';
import { UserError, failure } from './errors.js';
import { type KubeConfig, mergeIntoFile, retarget } from './k3s/kubeconfig.js';
import { type Cluster, connectCluster, isNotFound, kubeconfigFromFile } from './kube/client.js';
import { waitForNodesReady } from './kube/ready.js';
import { giteaUrl } from './platform/charts.js';
import { platformSteps } from './platform/stage.js';
import type { Stage } from './stages.js';
import { K3S_PATHS } from './k3s/plan.js';
import { inspectHost, judge } from './k3s/preflight.js';
import { RemoteHost, airgapFiles, describeStep } from './k3s/remote.js';
import { type HostOutcome, k3sStage } from './k3s/stage.js';
import { expandHome, kubeconfigPath } from './paths.js';
import { type TaskIO, print } from './task.js';
import { hostSession } from './local.js';

export { STAGES, type Stage, selectStages } from './stages.js';

type Step = Stage | 'install' | 'kubeconfig' | 'ready';

export interface BootstrapOptions {
  stages: Step[];
  dryRun: boolean;
  kubeconfig: string;
  /** Plan lines and notes, printed as they come (dry-run steps, warnings, the summary). */
  say: (line: string) => void;
  /** Spinners for a person at a terminal; plain lines otherwise (cron mail, CI). */
  interactive: boolean;
  given: Secrets;
}

export interface Hosts {
  server: RemoteHost;
  workers: RemoteHost[];
  close(): Promise<void>;
}

export function connectHosts(config: Config, options: { local?: boolean; task?: string } = {}): Hosts {
  if (!config.host) {
    throw new UserError(`${options.task ?? 'bootstrap'}: no host in the config`, { hint: 'set host.address (run `raibid-task setup`)' });
  }
  const server = new RemoteHost(hostSession(config, config.host, options));
  const workers = config.nodes.map((n) => new RemoteHost(hostSession(config, n)));
  return {
    server,
    workers,
    close: async () => {
      await Promise.all([server, ...workers].map((h) => h.ssh.close()));
    },
  };
}

/** The bootstrap as a listr2 list: a function of config and options, run by the task. */
export function bootstrapTasks(config: Config, connected: Hosts | undefined, options: BootstrapOptions): Listr {
  const hosts = connected ?? {
    get server(): RemoteHost {
      throw new Error('bootstrap: this step needs SSH, and no host was connected');
    },
    workers: [],
    close: async () => {},
  };
  const all = connected ? [connected.server, ...connected.workers] : [];
  // the server's address as ssh resolves it (an ~/.ssh/config alias means nothing to the API client)
  const apiUrl = async () => config.k3s.apiUrl ?? `https://${await hosts.server.ssh.hostname()}:6443`;
  let access: KubeConfig | undefined;
  const clusterAccess = async () => (access ??= retarget(await hosts.server.read(K3S_PATHS.kubeconfig), await apiUrl(), config.k3s.context));
  let cluster: Cluster | undefined;
  const platform = platformSteps({
    config,
    given: options.given,
    dryRun: options.dryRun,
    say: options.say,
    pollMs: config.platform.pollSeconds * 1000,
    // the k3s stage's own credentials when it ran, else the user's kubeconfig (a cluster of their own)
    cluster: async () =>
      (cluster ??= connectCluster(options.stages.includes('k3s') ? await clusterAccess() : kubeconfigFromFile(options.kubeconfig, config.k3s.context))),
  });
  let outcomes: HostOutcome[] = [];
  const steps: Record<Exclude<Step, 'k3s'>, ListrTask> = {
    ...platform,
    preflight: {
      title: 'Preflight',
      task: async (_, task) => {
        const reports = await Promise.all(all.map(async (h) => ({ host: h.ssh.target.address, verdict: judge(await inspectHost(h)) })));
        for (const { host, verdict } of reports) {
          options.say(`${host}: ${verdict.summary}`);
          for (const warning of verdict.warnings) options.say(`${host}: warning: ${warning}`);
        }
        const problems = reports.flatMap(({ host, verdict }) => verdict.problems.map((p) => `${host}: ${p}`));
        if (problems.length > 0) {
          throw failure(`preflight: ${problems.join('; ')}`, 'use a bigger host, or --skip preflight to go on anyway');
        }
        task.title = `Preflight: ${all.length} host${all.length > 1 ? 's' : ''} fit`;
      },
    },
    install: {
      title: `k3s ${config.k3s.version}`,
      task: async (_, task) => {
        const airgap = config.k3s.airgap ? airgapFiles(expandHome(config.k3s.airgap.dir), config.k3s.version) : undefined;
        outcomes = await k3sStage(config, hosts.server, hosts.workers, {
          dryRun: options.dryRun,
          airgap,
          onPlan: (o) => {
            options.say(`${o.address} (${o.role}): ${o.action.kind}: ${o.action.reason}`);
            if (options.dryRun) for (const step of o.steps) options.say(`  ${describeStep(step)}`);
          },
        });
        task.title = `k3s ${config.k3s.version}: ${outcomes.map((o) => `${o.address} ${o.action.kind}`).join(', ')}`;
      },
    },
    kubeconfig: {
      title: 'Kubeconfig',
      task: async (_, task) => {
        if (options.dryRun) {
          options.say(`would merge context ${config.k3s.context} (${await apiUrl()}) into ${options.kubeconfig}, mode 0600`);
          return;
        }
        mergeIntoFile(options.kubeconfig, await clusterAccess());
        task.title = `Kubeconfig: context ${config.k3s.context} in ${options.kubeconfig}`;
      },
    },
    ready: {
      title: `Nodes Ready (${all.length})`,
      task: async (_, task) => {
        if (options.dryRun) {
          options.say(`would wait up to ${config.k3s.readyTimeoutSeconds} s for ${all.length} nodes to be Ready at ${await apiUrl()}`);
          return;
        }
        const core = connectCluster(await clusterAccess()).core;
        for (const renamed of outcomes.filter((o) => o.renamedFrom)) {
          // the old Node would stay NotReady for good and hold the wait
          const gone = await core.deleteNode({ name: renamed.renamedFrom! }).then(
            () => true,
            (error: unknown) => (isNotFound(error) ? false : Promise.reject(error)),
          );
          if (gone) options.say(`${renamed.address}: deleted the Node ${renamed.renamedFrom}, renamed by this run`);
        }
        const nodes = await waitForNodesReady(core, all.length, {
          timeoutMs: config.k3s.readyTimeoutSeconds * 1000,
          pollMs: Math.min(2000, config.k3s.readyTimeoutSeconds * 250),
        });
        task.title = `Nodes Ready: ${nodes.map((n) => n.name).join(', ')}`;
      },
    },
  };
  const k3s: ListrTask = {
    title: 'k3s',
    task: (_, task) => task.newListr([steps.install, steps.kubeconfig, steps.ready], { concurrent: false, exitOnError: true }),
  };
  const chosen = options.stages.map((s) => (s === 'k3s' ? k3s : steps[s]));
  return new Listr(chosen, {
    concurrent: false,
    exitOnError: true,
    renderer: options.interactive ? 'default' : 'simple',
    fallbackRenderer: 'simple',
  });
}

/** What a bootstrap did: each stage's closing title (what it found and changed), in order. */
export interface BootstrapResult {
  stages: { stage: string; outcome: string }[];
  dryRun: boolean;
  giteaUrl?: string;
}

/** What the bootstrap and kubeconfig tasks share: connect, run the chosen steps, disconnect. */
export async function runBootstrap(
  config: Config,
  steps: BootstrapOptions['stages'],
  options: { dryRun: boolean; kubeconfig: string | undefined; io: TaskIO; given: Secrets; local?: boolean; task?: string },
): Promise<BootstrapResult> {
  const { io } = options;
  const onHosts = steps.includes('k3s') || steps.includes('preflight');
  const hosts =
    onHosts || steps.includes('kubeconfig')
      ? connectHosts(onHosts ? config : { ...config, nodes: [] }, { local: options.local, task: options.task })
      : undefined;
  const list = bootstrapTasks(config, hosts, {
    stages: steps,
    dryRun: options.dryRun,
    kubeconfig: kubeconfigPath(options.kubeconfig, io.env),
    say: (line) => print(io, line),
    interactive: Boolean(io.stdout.isTTY) && !io.env.CI,
    given: options.given,
  });
  try {
    await list.run();
  } finally {
    await hosts?.close();
  }
  const url = giteaUrl(config);
  const installedGitea = !options.dryRun && url !== undefined && (steps.includes('platform') || steps.includes('gitea'));
  if (installedGitea) {
    print(
      io,
      `Gitea: ${url} (user ${config.gitea.adminUser}; password: kubectl -n raibid get secret raibid-gitea-admin -o jsonpath='{.data.password}' | base64 -d)`,
    );
  }
  return {
    stages: list.tasks.map((t, i) => ({ stage: steps[i]!, outcome: t.title ?? '' })),
    dryRun: options.dryRun,
    ...(installedGitea ? { giteaUrl: url } : {}),
  };
}
