import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildUser, buildDir, buildUser } from './build-user.js';
import { leaseBuildSlot, repoCacheDir } from './cache.js';
import { CheckoutError, checkout } from './checkout.js';
import { executePipeline } from './execute.js';
import { PIPELINE_FILE, type Pipeline, PipelineError, RUST_PIPELINE, parsePipeline } from './pipeline.js';
import type { RunContext, RunResult, Runner } from './runner.js';
import { jobFacts, stepEnvironment } from './step-env.js';
import { authHeader } from '../gitea/client.js';
import { JOB_DIR_META } from '../queue/names.js';
import { isSafeSubdir } from '../queue/validate.js';

export interface CiRunnerOptions {
  cacheRoot: string;
  env?: NodeJS.ProcessEnv;
  /** Run checkouts and steps as this user (the agent being root). */
  buildUid?: number;
  /** The farm's Gitea and a read-only token for it: fetches from it send the token, steps never see it. */
  gitea?: { url: string; token: string };
}

/** The pipeline a checkout asks for: its .raibid.yml, else the Rust default. */
export function pipelineFor(dir: string): Pipeline {
  const file = join(dir, PIPELINE_FILE);
  return existsSync(file) ? parsePipeline(readFileSync(file, 'utf8')) : RUST_PIPELINE;
}

export function sccachePath(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v sccache'], { env, encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function sccacheStats(sccache: string, env: NodeJS.ProcessEnv, user: BuildUser | undefined): { hits: number; misses: number; hitRate: number } | undefined {
  try {
    const stats = JSON.parse(execFileSync(sccache, ['--show-stats', '--stats-format', 'json'], { env, encoding: 'utf8', ...user }));
    const count = (field: unknown) =>
      typeof field === 'object' && field !== null
        ? Object.values((field as { counts?: Record<string, number> }).counts ?? field).reduce<number>((a, b) => a + Number(b || 0), 0)
        : Number(field ?? 0);
    const hits = count(stats.stats?.cache_hits);
    const misses = count(stats.stats?.cache_misses);
    return { hits, misses, hitRate: hits + misses === 0 ? 0 : hits / (hits + misses) };
  } catch {
    return undefined;
  }
}

/**
 * The agent's default runner: lease a build slot of the repo's cache, reset its working copy
 * to the job's commit, run the pipeline there. Its commit status is `serve`'s to report.
 */
export function ciRunner(options: CiRunnerOptions): Runner {
  const baseEnv = options.env ?? process.env;
  const sccache = sccachePath(baseEnv);
  const user = buildUser(options.buildUid);
  const credential = options.gitea && { url: `${new URL(options.gitea.url).origin}/`, header: `Authorization: ${authHeader({ token: options.gitea.token })}` };
  return async ({ job, signal, log }: RunContext): Promise<RunResult> => {
    const slot = leaseBuildSlot(repoCacheDir(options.cacheRoot, job.repo), user);
    const workspace = slot.workDir;
    const home: Record<string, string> = user ? { HOME: slot.homeDir } : {};
    try {
      let sha: string;
      try {
        ({ sha } = await checkout({
          repo: job.repo,
          ref: job.ref,
          sha: job.sha,
          dir: workspace,
          signal,
          log: (line) => log(line, { step: 'checkout', stream: 'err' }),
          user,
          env: stepEnvironment(baseEnv, home),
          credential,
        }));
      } catch (error) {
        if (!(error instanceof CheckoutError)) throw error;
        return { exitCode: 128, failedStep: 'checkout', error: error.message, transient: error.transient };
      }
      log(`checked out ${job.repo} at ${sha}`, { step: 'checkout', stream: 'raibid' });
      const dir = job.meta[JOB_DIR_META] ?? '';
      const cwd = join(workspace, dir);
      if (!isSafeSubdir(dir) || !existsSync(cwd)) {
        const error = `${JSON.stringify(dir)} is not a folder of the commit`;
        log(error, { step: 'checkout', stream: 'raibid' });
        return { exitCode: 128, failedStep: 'checkout', error };
      }
      let pipeline: Pipeline;
      try {
        pipeline = pipelineFor(cwd);
      } catch (error) {
        if (!(error instanceof PipelineError)) throw error;
        log(error.message, { step: PIPELINE_FILE, stream: 'raibid' });
        return { exitCode: 1, failedStep: PIPELINE_FILE, error: error.message };
      }
      const env = stepEnvironment(baseEnv, {
        ...home,
        CARGO_HOME: slot.cargoHome,
        CARGO_TARGET_DIR: slot.targetDir,
        ...jobFacts(job, sha),
        ...(sccache ? { RUSTC_WRAPPER: sccache, SCCACHE_DIR: buildDir(join(options.cacheRoot, 'sccache'), user) } : {}),
      });
      // as the build user: the sccache server it starts compiles for the build
      if (sccache) execFileSync(sccache, ['--zero-stats'], { env, stdio: 'ignore', ...user });
      log(`pipeline from ${pipeline.source}${dir ? ` in ${dir}` : ''}: ${pipeline.steps.map((s) => s.name).join(', ')}; ${slot.warm ? 'warm' : 'cold'} cache`, {
        step: 'pipeline',
        stream: 'raibid',
      });
      const result = await executePipeline({ pipeline, cwd, env, signal, log, hold: [slot.lockFd], user });
      const cache = { slot: slot.index, warm: slot.warm, ...(sccache ? { sccache: sccacheStats(sccache, env, user) } : {}) };
      // the build user's sccache server (one per host, on its port) would answer the next agent's builds, whoever runs them
      if (sccache && user) spawnSync(sccache, ['--stop-server'], { env, stdio: 'ignore', ...user });
      const details = { sha, pipeline: pipeline.source, steps: result.steps, cache };
      return { exitCode: result.exitCode, failedStep: result.failedStep, error: result.error, details };
    } finally {
      slot.release();
    }
  };
}
