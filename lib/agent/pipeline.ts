import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { describeSchemaError } from '../schema-error.js';

export const PIPELINE_FILE = '.raibid.yml';

const envSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a variable name'),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

const stepSchema = z.strictObject({
  name: z.string().min(1).max(100),
  run: z.string().min(1),
  env: envSchema.default({}),
  timeout: z.number().positive().optional(),
});

const fileSchema = z.strictObject({
  env: envSchema.default({}),
  timeout: z.number().positive().optional(),
  steps: z.array(stepSchema).min(1),
});

export interface Step {
  name: string;
  /** A shell command, or an argument vector run without a shell. */
  run: string | string[];
  env: Record<string, string>;
  timeoutSeconds?: number;
}

export interface Pipeline {
  source: 'default' | typeof PIPELINE_FILE;
  env: Record<string, string>;
  timeoutSeconds?: number;
  steps: Step[];
}

export const RUST_PIPELINE: Pipeline = {
  source: 'default',
  env: { CARGO_TERM_COLOR: 'never', CARGO_INCREMENTAL: '0' },
  steps: [
    { name: 'cargo fetch', run: ['cargo', 'fetch'], env: {} },
    { name: 'cargo build', run: ['cargo', 'build', '--all-targets'], env: {} },
    { name: 'cargo test', run: ['cargo', 'test'], env: {} },
  ],
};

export class PipelineError extends Error {}

/** A step's command as a person would type it. */
export function stepCommand(step: Step): string {
  return typeof step.run === 'string' ? step.run : step.run.join(' ');
}

/** Reads a repository's `.raibid.yml`; a malformed one throws a PipelineError saying where. */
export function parsePipeline(text: string): Pipeline {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new PipelineError(`${PIPELINE_FILE}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const result = fileSchema.safeParse(raw);
  if (!result.success) throw new PipelineError(`${PIPELINE_FILE}: ${describeSchemaError(result.error)}`);
  const { env, timeout, steps } = result.data;
  return {
    source: PIPELINE_FILE,
    env,
    timeoutSeconds: timeout,
    steps: steps.map((s) => ({ name: s.name, run: s.run, env: s.env, timeoutSeconds: s.timeout })),
  };
}
