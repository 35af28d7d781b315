import type { Job } from '../queue/job.js';

/** What job code may see of the agent's environment: the toolchain's and the locale's, never a secret. */
const KEPT = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TZ|TERM|TMPDIR|NO_COLOR|LC_\w+|CARGO_\w+|RUSTUP_\w+|RUSTFLAGS|RUSTDOCFLAGS|NVIDIA_\w+)$/;
/** Cargo reads registry tokens from CARGO_REGISTRY_TOKEN and CARGO_REGISTRIES_<name>_TOKEN: a CARGO_ name is no guarantee. */
const SECRET_LIKE = /TOKEN|SECRET|PASSWORD|CREDENTIAL|_KEY$/;

/** The job's own facts, as its steps read them. */
export function jobFacts(job: Job, sha: string): Record<string, string> {
  return { RAIBID_JOB_ID: job.id, RAIBID_REPO: job.repo, RAIBID_REF: job.ref, RAIBID_SHA: sha, RAIBID_ATTEMPT: String(job.attempt) };
}

/**
 * The environment a job's code runs with: an allow-list of the agent's (the agent's own may
 * hold GITEA_TOKEN, GITHUB_TOKEN, the Redis URL with its password, the webhook secret), then
 * what the agent sets for the build.
 */
export function stepEnvironment(agentEnv: NodeJS.ProcessEnv, set: Record<string, string>): NodeJS.ProcessEnv {
  const kept = Object.entries(agentEnv).filter(([name, value]) => value !== undefined && KEPT.test(name) && !SECRET_LIKE.test(name));
  return { ...Object.fromEntries(kept), ...set };
}
