import { runProcess } from './process.js';
import type { Runner } from './runner.js';
import { jobFacts, stepEnvironment } from './step-env.js';

/** sysexits' EX_TEMPFAIL: a command exiting with it asks for another attempt. */
export const EXIT_TEMPFAIL = 75;

/**
 * Runs one shell command per job. The job's fields reach it as environment variables,
 * never spliced into the command text; of the agent's environment only the allow-list of
 * step-env.ts.
 */
export function commandRunner(command: string, step = 'command'): Runner {
  return async ({ job, signal, log }) => {
    const env = stepEnvironment(process.env, jobFacts(job, job.sha ?? ''));
    const { exitCode } = await runProcess('/bin/sh', ['-c', command], {
      env,
      signal,
      onLine: (line, stream) => log(line, { step, stream }),
    });
    return {
      exitCode,
      failedStep: exitCode === 0 ? undefined : step,
      transient: exitCode === EXIT_TEMPFAIL,
      error: exitCode === 0 ? undefined : `${step} exited with ${exitCode}`,
    };
  };
}
