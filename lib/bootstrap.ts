import type { Config, Secrets } from './config.js';
import { UserError, failure } from './errors.js';
import { type KubeConfig, mergeIntoFile, retarget } from './k3s/kubeconfig.js';
import { connectCluster, isNotFound, kubeconfigFromFile } from './kube/client.js';
import { waitForNodesReady } from './kube/ready.js';
import { giteaUrl } from './platform/charts.js';
import { PLATFORM, type PlatformContext } from './platform/stage.js';
import type { Stage } from './stages.js';
import { K3S_PATHS } from './k3s/plan.js';
import { inspectHost, judge } from './k3s/preflight.js';
import { RemoteHost, airgapFiles, describeStep } from './k3s/remote.js';
import { type HostOutcome, k3sStage } from './k3s/stage.js';
import { expandHome, kubeconfigPath } from './paths.js';
import { type TaskIO, print } from './task.js';
import { hostSession } from './local.js';
import { type Progress, type Step, type StepList, progressFor, runList, toListr } from './steps.js';

export { STAGES, type Stage, selectStages } from './stages.js';

type StepName = Stage | 'install' | 'kubeconfig' | 'ready';

export interface BootstrapOptions {
  stages: StepName[];
  dryRun: boolean;
  kubeconfig: string;
  /** Plan lines and notes, printed as they come (dry-run steps, warnings, the summary). */
  say: (line: string) => void;
  /** Spinners for a person at a terminal; plain lines otherwise (cron mail, CI). */
  progress: Progress;
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

/** What the bootstrap's steps share: config and options, the hosts, the cluster (reached on first use), what the install did. */
interface BootstrapContext extends PlatformContext {
  hosts: Hosts;
  /** The server and the workers; none when no host was connected. */
  all: RemoteHost[];
  kubeconfig: string;
  /** The server's API at its address as ssh resolves it (an ~/.ssh/config alias means nothing to the API client). */
  apiUrl: () => Promise<string>;
  /** k3s's own credentials, read from the server once. */
  clusterAccess: () => Promise<KubeConfig>;
  /** What the install did on each host; the wait for Ready reads it. */
  outcomes: HostOutcome[];
}

const once = <T>(get: () => Promise<T>) => {
  let got: Promise<T> | undefined;
  return () => (got ??= get());
};

function bootstrapContext(config: Config, connected: Hosts | undefined, options: BootstrapOptions): BootstrapContext {
  const hosts = connected ?? {
    get server(): RemoteHost {
      throw new Error('bootstrap: this step needs SSH, and no host was connected');
    },
    workers: [],
    close: async () => {},
  };
  const apiUrl = once(async () => config.k3s.apiUrl ?? `https://${await hosts.server.ssh.hostname()}:6443`);
  const clusterAccess = once(async () => retarget(await hosts.server.read(K3S_PATHS.kubeconfig), await apiUrl(), config.k3s.context));
  return {
    config,
    given: options.given,
    dryRun: options.dryRun,
    say: options.say,
    pollMs: config.platform.pollSeconds * 1000,
    hosts,
    all: connected ? [connected.server, ...connected.workers] : [],
    kubeconfig: options.kubeconfig,
    apiUrl,
    clusterAccess,
    // the k3s stage's own credentials when it ran, else the user's kubeconfig (a cluster of their own)
    cluster: once(async () =>
      connectCluster(options.stages.includes('k3s') ? await clusterAccess() : kubeconfigFromFile(options.kubeconfig, config.k3s.context)),
    ),
    outcomes: [],
  };
}

const preflight: Step<BootstrapContext> = {
  title: 'Preflight',
  run: async ({ all, say }) => {
    const reports = await Promise.all(all.map(async (h) => ({ host: h.ssh.target.address, verdict: judge(await inspectHost(h)) })));
    for (const { host, verdict } of reports) {
      say(`${host}: ${verdict.summary}`);
      for (const warning of verdict.warnings) say(`${host}: warning: ${warning}`);
    }
    const problems = reports.flatMap(({ host, verdict }) => verdict.problems.map((p) => `${host}: ${p}`));
    if (problems.length > 0) {
      throw failure(`preflight: ${problems.join('; ')}`, 'use a bigger host, or --skip preflight to go on anyway');
    }
    return `Preflight: ${all.length} host${all.length > 1 ? 's' : ''} fit`;
  },
};

const install: Step<BootstrapContext> = {
  title: ({ config }) => `k3s ${config.k3s.version}`,
  run: async (context) => {
    const { config, hosts, dryRun, say } = context;
    const airgap = config.k3s.airgap ? airgapFiles(expandHome(config.k3s.airgap.dir), config.k3s.version) : undefined;
    context.outcomes = await k3sStage(config, hosts.server, hosts.workers, {
      dryRun,
      airgap,
      onPlan: (o) => {
        say(`${o.address} (${o.role}): ${o.action.kind}: ${o.action.reason}`);
        if (dryRun) for (const step of o.steps) say(`  ${describeStep(step)}`);
      },
    });
    return `k3s ${config.k3s.version}: ${context.outcomes.map((o) => `${o.address} ${o.action.kind}`).join(', ')}`;
  },
};

const kubeconfig: Step<BootstrapContext> = {
  title: 'Kubeconfig',
  run: async ({ config, dryRun, say, kubeconfig, apiUrl, clusterAccess }) => {
    if (dryRun) {
      say(`would merge context ${config.k3s.context} (${await apiUrl()}) into ${kubeconfig}, mode 0600`);
      return;
    }
    mergeIntoFile(kubeconfig, await clusterAccess());
    return `Kubeconfig: context ${config.k3s.context} in ${kubeconfig}`;
  },
};

const ready: Step<BootstrapContext> = {
  title: ({ all }) => `Nodes Ready (${all.length})`,
  run: async ({ config, dryRun, say, all, apiUrl, clusterAccess, outcomes }) => {
    if (dryRun) {
      say(`would wait up to ${config.k3s.readyTimeoutSeconds} s for ${all.length} nodes to be Ready at ${await apiUrl()}`);
      return;
    }
    const core = connectCluster(await clusterAccess()).core;
    for (const renamed of outcomes.filter((o) => o.renamedFrom)) {
      // the old Node would stay NotReady for good and hold the wait
      const gone = await core.deleteNode({ name: renamed.renamedFrom! }).then(
        () => true,
        (error: unknown) => (isNotFound(error) ? false : Promise.reject(error)),
      );
      if (gone) say(`${renamed.address}: deleted the Node ${renamed.renamedFrom}, renamed by this run`);
    }
    const nodes = await waitForNodesReady(core, all.length, {
      timeoutMs: config.k3s.readyTimeoutSeconds * 1000,
      pollMs: Math.min(2000, config.k3s.readyTimeoutSeconds * 250),
    });
    return `Nodes Ready: ${nodes.map((n) => n.name).join(', ')}`;
  },
};

const STEPS: Record<StepName, Step<BootstrapContext>> = {
  preflight,
  k3s: { title: 'k3s', children: [install, kubeconfig, ready] },
  install,
  kubeconfig,
  ready,
  ...PLATFORM,
};

/** The bootstrap as a listr2 list: a function of config and options, to run or to embed in a list of one's own. */
export function bootstrapTasks(config: Config, connected: Hosts | undefined, options: BootstrapOptions): StepList {
  return toListr(
    options.stages.map((s) => STEPS[s]),
    bootstrapContext(config, connected, options),
    options,
  );
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
  const bootstrap: BootstrapOptions = {
    stages: steps,
    dryRun: options.dryRun,
    kubeconfig: kubeconfigPath(options.kubeconfig, io.env),
    say: (line) => print(io, line),
    progress: progressFor(io.stdout, io.env),
    given: options.given,
  };
  let outcomes: string[];
  try {
    outcomes = await runList(bootstrapTasks(config, hosts, bootstrap));
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
    stages: outcomes.map((outcome, i) => ({ stage: steps[i]!, outcome })),
    dryRun: options.dryRun,
    ...(installedGitea ? { giteaUrl: url } : {}),
  };
}
