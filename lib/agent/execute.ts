import { type Pipeline, type Step, stepCommand } from './pipeline.js';
import type { BuildUser } from './build-user.js';
import { runProcess } from './process.js';

export interface StepResult {
  name: string;
  exitCode: number;
  durationMs: number;
  timedOut?: boolean;
}

export interface PipelineResult {
  exitCode: number;
  failedStep?: string;
  error?: string;
  steps: StepResult[];
}

export interface ExecuteInput {
  pipeline: Pipeline;
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  log: (line: string, options: { step: string; stream: 'out' | 'err' | 'raibid' }) => void;
  /** Descriptors every step holds open (the build slot's lease). */
  hold?: number[];
  user?: BuildUser;
}

const TIMED_OUT = 124;

function argv(step: Step): [string, string[]] {
  return typeof step.run === 'string' ? ['/bin/sh', ['-c', step.run]] : [step.run[0]!, step.run.slice(1)];
}

function timeoutSignal(seconds: number | undefined): AbortSignal | undefined {
  return seconds === undefined ? undefined : AbortSignal.timeout(seconds * 1000);
}

/** Runs the steps in order in `cwd`, stopping at the first that fails. */
export async function executePipeline(input: ExecuteInput): Promise<PipelineResult> {
  const steps: StepResult[] = [];
  const pipelineTimeout = timeoutSignal(input.pipeline.timeoutSeconds);
  for (const step of input.pipeline.steps) {
    const stepTimeout = timeoutSignal(step.timeoutSeconds);
    const signals = [input.signal, pipelineTimeout, stepTimeout].filter((s): s is AbortSignal => s !== undefined);
    const signal = AbortSignal.any(signals);
    if (signal.aborted) break;
    const [file, args] = argv(step);
    input.log(`$ ${stepCommand(step)}`, { step: step.name, stream: 'raibid' });
    const started = Date.now();
    let exitCode: number;
    try {
      ({ exitCode } = await runProcess(file, args, {
        cwd: input.cwd,
        env: { ...input.env, ...input.pipeline.env, ...step.env },
        signal,
        onLine: (line, stream) => input.log(line, { step: step.name, stream }),
        hold: input.hold,
        user: input.user,
      }));
    } catch (error) {
      input.log(`cannot start: ${(error as Error).message}`, { step: step.name, stream: 'raibid' });
      exitCode = 127;
    }
    const durationMs = Date.now() - started;
    const timedOut = Boolean(stepTimeout?.aborted || pipelineTimeout?.aborted) && !input.signal.aborted;
    steps.push({ name: step.name, exitCode: timedOut ? TIMED_OUT : exitCode, durationMs, ...(timedOut ? { timedOut } : {}) });
    input.log(`${step.name}: exit ${exitCode} after ${(durationMs / 1000).toFixed(1)} s`, { step: step.name, stream: 'raibid' });
    if (timedOut) {
      const limit = stepTimeout?.aborted ? `${step.timeoutSeconds} s step timeout` : `${input.pipeline.timeoutSeconds} s pipeline timeout`;
      return { exitCode: TIMED_OUT, failedStep: step.name, error: `${step.name} timed out (${limit})`, steps };
    }
    if (exitCode !== 0) return { exitCode, failedStep: step.name, error: `${step.name} exited with ${exitCode}`, steps };
  }
  return { exitCode: input.signal.aborted ? 130 : 0, steps };
}
