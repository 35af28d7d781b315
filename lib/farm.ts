import type { BootstrapResult } from './bootstrap.js';
import type { Config, LoadedConfig } from './config.js';
import { loadConfig } from './config.js';
import { STAGES, type Stage } from './stages.js';
import { UserError } from './errors.js';
import type { GitHubStats } from './github/client.js';
import type { MirrorSummary } from './mirror/reconcile.js';
import type { Progress } from './steps.js';
import type { TeardownResult } from './teardown-run.js';
import { requiredGiteaUrl } from './platform/charts.js';
import { reachQueue } from './platform/redis-access.js';
import { followJob } from './queue/follow.js';
import { type JobState, type JobView, jobView } from './queue/job.js';
import type { OpenQueue } from './queue/open.js';
import type { JobInput, LogLine } from './queue/queue.js';
import { type Snapshot, snapshot } from './queue/snapshot.js';
import { validateJobInput } from './queue/validate.js';

export interface FarmOptions {
  /** A config file; else $RAIBID_CONFIG, ./raibid.config.yaml, ~/.config/raibid/config.yaml. */
  config?: string;
  env?: NodeJS.ProcessEnv;
  /** Where relative repository paths and ./raibid.config.yaml are looked up. */
  cwd?: string;
}

export interface DispatchOptions {
  /** A clone URL or the path of a local repository. */
  repo: string;
  ref?: string;
  sha?: string;
  meta?: Record<string, string>;
}

export interface WaitOptions {
  /** Called with each log line as the agent writes it. */
  onLog?: (line: LogLine) => void;
  /** Gives up with an error after this long; by default it waits as long as the job takes. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface BootstrapRunOptions {
  /** The stages to run, in bootstrap's order whatever the order given; all by default. */
  stages?: Stage[];
  dryRun?: boolean;
  /** The kubeconfig to merge the cluster's context into (default: $KUBECONFIG or ~/.kube/config). */
  kubeconfig?: string;
  /** The server is this machine: its steps run here, not over SSH. */
  local?: boolean;
  /** Where the progress list and plan lines go (default: standard output). */
  output?: NodeJS.WritableStream & { isTTY?: boolean };
}

export type MirrorSyncResult = Omit<MirrorSummary, 'kept'> & { github: GitHubStats; fullCheck: boolean };

/**
 * The farm as one object for scripts: config and secrets loaded once, the queue reached on first
 * use (redis.url, else the cluster's Redis through a port-forward, else a local one) and closed
 * by `close()`.
 */
export class Farm {
  private opened: Promise<OpenQueue> | undefined;

  constructor(
    readonly loaded: LoadedConfig,
    readonly env: NodeJS.ProcessEnv,
    readonly cwd: string,
  ) {}

  get config(): Config {
    return this.loaded.config;
  }

  /** The queue's connection, opened once. */
  async queue(): Promise<OpenQueue> {
    this.opened ??= reachQueue(this.config, this.env);
    return this.opened;
  }

  /** Queues a job; the same repo and commit (or ref) already queued or running gives that job's id. */
  async dispatch(options: DispatchOptions): Promise<{ id: string; created: boolean; job: JobInput }> {
    const job = validateJobInput({ repo: options.repo, ref: options.ref ?? 'HEAD', sha: options.sha, meta: { source: 'api', ...options.meta } }, this.cwd);
    const { queue } = await this.queue();
    return { ...(await queue.enqueue(job)), job };
  }

  async job(id: string): Promise<JobView | undefined> {
    const job = await (await this.queue()).queue.get(id);
    return job && jobView(job);
  }

  async jobs(options: { state?: JobState; limit?: number } = {}): Promise<JobView[]> {
    return (await (await this.queue()).queue.list(options)).map((job) => jobView(job));
  }

  async logs(id: string): Promise<LogLine[]> {
    await (await this.queue()).queue.mustGet(id);
    return (await this.queue()).queue.readLog(id);
  }

  async cancel(id: string): Promise<string> {
    return (await this.queue()).queue.cancel(id);
  }

  async retry(id: string): Promise<string> {
    return (await this.queue()).queue.retry(id);
  }

  async status(options: { jobs?: number } = {}): Promise<Snapshot> {
    return snapshot((await this.queue()).queue, { jobs: options.jobs ?? 10 });
  }

  /** Waits until the job ends and returns it; the log comes line by line to `onLog`. */
  async waitForJob(id: string, options: WaitOptions = {}): Promise<JobView> {
    const { queue, connect } = await this.queue();
    const job = await (await this.queue()).queue.mustGet(id);
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const blocking = await connect();
    try {
      const ended = await followJob(queue, blocking, job, {
        onLine: (line) => options.onLog?.(line),
        stop: (now) => {
          if (options.signal?.aborted) throw new UserError(`stopped waiting for job ${id}`);
          if (Date.now() > deadline)
            throw new UserError(`job ${id} is still ${now.state} after ${options.timeoutMs} ms`, { hint: `raibid-task logs ${id} --follow` });
          return false;
        },
      });
      return jobView(ended);
    } finally {
      blocking.disconnect();
    }
  }

  /** Runs bootstrap (or the stages chosen) with its progress list, and says what each stage did. */
  async bootstrap(options: BootstrapRunOptions = {}): Promise<BootstrapResult> {
    const { runBootstrap } = await import('./bootstrap.js');
    const stages = STAGES.filter((s) => !options.stages || options.stages.includes(s));
    return runBootstrap(this.config, stages, {
      dryRun: options.dryRun ?? false,
      kubeconfig: options.kubeconfig,
      io: { stdout: options.output ?? process.stdout, stderr: process.stderr, env: this.env },
      given: this.loaded.secrets,
      local: options.local,
    });
  }

  /** Creates and syncs the mirrors the config selects (one run at a time: a second one fails). */
  async mirrorSync(options: { prune?: boolean; full?: boolean; progress?: Progress } = {}): Promise<MirrorSyncResult> {
    const { syncMirrors } = await import('./mirror/run.js');
    const { kept, ...result } = await syncMirrors(this.loaded, this.env, { prune: options.prune ?? false, full: options.full, progress: options.progress });
    return result;
  }

  /** Removes the platform and k3s, in reverse order of bootstrap (the volumes and k3s stay with keepData). */
  async teardown(
    options: { keepData?: boolean; dryRun?: boolean; kubeconfig?: string; output?: NodeJS.WritableStream & { isTTY?: boolean } } = {},
  ): Promise<TeardownResult> {
    const [{ runTeardown }, { kubeconfigPath }, { progressFor }] = await Promise.all([import('./teardown-run.js'), import('./paths.js'), import('./steps.js')]);
    const output = options.output ?? process.stdout;
    return runTeardown(this.config, {
      keepData: options.keepData ?? false,
      dryRun: options.dryRun ?? false,
      kubeconfig: kubeconfigPath(options.kubeconfig, this.env),
      say: (line) => output.write(`${line}\n`),
      progress: progressFor(output, this.env),
    });
  }

  /** The clone URL of a repository in Gitea, `org/name` as mirror sync reports it. */
  giteaCloneUrl(fullName: string): string {
    const url = requiredGiteaUrl(this.config);
    return `${url.replace(/\/$/, '')}/${fullName}.git`;
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (!opened) return;
    await (await opened).close();
  }
}

/** Loads the config and secrets as the CLI does; nothing is connected until a method needs it. */
export function openFarm(options: FarmOptions = {}): Farm {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  return new Farm(loadConfig({ file: options.config, env, cwd }), env, cwd);
}
