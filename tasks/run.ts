import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { leaseBuildSlot, repoCacheDir } from '../lib/agent/cache.js';
import { CheckoutError, checkout } from '../lib/agent/checkout.js';
import { pipelineFor } from '../lib/agent/ci-runner.js';
import { executePipeline } from '../lib/agent/execute.js';
import { PipelineError, stepCommand } from '../lib/agent/pipeline.js';
import { cacheRoot } from '../lib/agent/runner-from-config.js';
import { UserError, failure } from '../lib/errors.js';
import { isValidRef } from '../lib/queue/validate.js';
import { defineTask, print, printJson, sayConfig } from '../lib/task.js';
import { formatLogLine, painter } from '../lib/ui/format.js';

export default defineTask({
  summary: 'run the CI pipeline on a local checkout now, without a queue',
  usage: ['run [path] [--ref <ref>] [--dry-run] [--json]'],
  details:
    'Without --ref the pipeline runs in the working tree as it is, uncommitted changes and all:\n' +
    'the quickest way to try a .raibid.yml. With --ref the commit is checked out first, as an\n' +
    "agent would, into a build slot of the agent's cache. The exit code is the\n" +
    "pipeline's: 0 when every step passed, else the failing step's.",
  options: {
    ref: { kind: 'string', value: 'ref', description: 'build this committed ref in a fresh workspace' },
    'dry-run': { kind: 'boolean', description: 'print the steps that would run' },
    json: { kind: 'boolean', description: 'print the result as JSON (the log goes to stderr)' },
  },
  positionals: 1,
  async run(input) {
    const { io } = input;
    const path = resolve(input.positionals[0] ?? '.');
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new UserError(`run: '${input.positionals[0] ?? '.'}' is not a directory`, { hint: 'give the path of a checkout' });
    }
    const { ref, json, 'dry-run': dryRun } = input.options;
    if (ref !== undefined && !isValidRef(ref)) {
      throw new UserError(`run: --ref '${ref}' is not a valid git ref`, { hint: 'give a branch, tag or commit' });
    }
    const paint = painter(json ? { isTTY: false } : io.stdout, io.env);
    const out = json ? io.stderr : io.stdout;
    const log = (line: string, o: { step: string; stream: 'out' | 'err' | 'raibid' }) =>
      out.write(`${formatLogLine(paint, { ts: Date.now(), step: o.step, stream: o.stream, line })}\n`);

    const loaded = ref ? input.config() : undefined;
    if (loaded) sayConfig(io, loaded);
    const slot = loaded && !dryRun ? leaseBuildSlot(repoCacheDir(cacheRoot(loaded, io.env), path)) : undefined;
    const workspace = slot?.workDir ?? path;
    try {
      const env = { ...io.env };
      if (ref && !slot) print(io, `would check out ${path} at ${ref} into a build slot of the agent cache`);
      if (slot && ref) {
        try {
          await checkout({ repo: path, ref, dir: workspace, signal: input.interrupted, log: (line) => log(line, { step: 'checkout', stream: 'err' }) });
        } catch (error) {
          if (error instanceof CheckoutError) throw failure(`run: ${error.message}`, 'is the path a git repository with that ref?');
          throw error;
        }
        Object.assign(env, { CARGO_HOME: slot.cargoHome, CARGO_TARGET_DIR: slot.targetDir });
      }
      let pipeline;
      try {
        pipeline = pipelineFor(workspace);
      } catch (error) {
        if (error instanceof PipelineError) throw new UserError(`run: ${error.message}`, { hint: 'see README: .raibid.yml' });
        throw error;
      }
      if (dryRun) {
        if (json) printJson(io, { dryRun: true, source: pipeline.source, steps: pipeline.steps });
        else for (const step of pipeline.steps) print(io, `${step.name}: ${stepCommand(step)}`);
        return 0;
      }
      const result = await executePipeline({ pipeline, cwd: workspace, env, signal: input.interrupted, log });
      if (json) printJson(io, { source: pipeline.source, ...result });
      else if (result.exitCode === 0) print(io, paint.green(`passed: ${result.steps.length} steps`));
      else print(io, paint.red(`failed: ${result.error ?? `exit ${result.exitCode}`}`));
      return result.exitCode === 0 ? 0 : Math.min(Math.max(result.exitCode, 1), 255);
    } finally {
      slot?.release();
    }
  },
});
