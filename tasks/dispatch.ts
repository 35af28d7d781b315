import { printable } from '../lib/ui/format.js';
import { parseOptions } from '../lib/options.js';
import { withQueue } from '../lib/platform/redis-access.js';
import { JOB_DIR_META } from '../lib/queue/names.js';
import { validateJobInput } from '../lib/queue/validate.js';
import { defineTask, print, printJson, sayConfig } from '../lib/task.js';
import logs from './logs.js';

export default defineTask({
  summary: 'queue a CI job for a repository at a ref',
  usage: ['dispatch --repo <clone-url|path> [--ref <ref>] [--sha <sha>] [--follow] [--json] [--dry-run]'],
  details:
    'Prints the job id. Dispatching the same repo and commit (or ref, without --sha) while an\n' +
    'earlier job for it is queued or running returns that job instead of queueing a second one.\n' +
    'A local path must be a git repository or a folder in one (then the pipeline runs in that\n' +
    'folder); the ref (or --sha) must name a commit there, one that holds the folder.\n' +
    "With --follow it prints the job's log until the job ends and exits 0 only if it succeeded.",
  options: {
    repo: { kind: 'string', value: 'clone-url|path', description: 'what to build: a clone URL or a local repository', required: true },
    ref: { kind: 'string', value: 'ref', description: 'branch, tag or ref to build', default: 'HEAD' },
    sha: { kind: 'string', value: 'sha', description: 'the exact commit, when known' },
    follow: { kind: 'boolean', short: 'f', description: "then print the job's log until it ends; the exit code is the job's result" },
    json: { kind: 'boolean', description: 'print an object with the id instead of the bare id' },
    'dry-run': { kind: 'boolean', description: 'validate and show the job without queueing it' },
  },
  async run(input) {
    const { io } = input;
    const { repo, ref, sha, json } = input.options;
    const job = validateJobInput({ repo, ref, sha, meta: { source: 'cli' } }, process.cwd());
    const loaded = input.config();
    sayConfig(io, loaded);
    const dir = job.meta?.[JOB_DIR_META];
    if (dir)
      io.stderr.write(
        `raibid-task: ${printable(dir)} is a folder of ${printable(job.repo)}: the job builds the repository and runs the pipeline in ${printable(dir)}\n`,
      );
    if (input.options['dry-run']) {
      const plan = { action: 'enqueue', repo: job.repo, ref: job.ref, sha: job.sha ?? null, dir: dir ?? null };
      if (json) printJson(io, { dryRun: true, ...plan });
      else print(io, `would queue ${printable(job.repo)} at ${printable(job.ref)}${job.sha ? ` (${job.sha})` : ''}${dir ? ` in ${printable(dir)}` : ''}`);
      return 0;
    }
    const { id, created } = await withQueue(loaded.config, input.io.env, ({ queue }) => queue.enqueue(job));
    if (json) printJson(io, { id, created, repo: job.repo, ref: job.ref, sha: job.sha ?? null });
    else {
      print(io, id);
      if (!created) io.stderr.write(`raibid-task: ${printable(job.repo)} at ${printable(job.sha ?? job.ref)} is already queued or running as ${id}\n`);
    }
    if (!input.options.follow) return 0;
    return logs.run({ ...input, options: parseOptions('logs', logs.options, { follow: true }), positionals: [id] });
  },
});
