import { printable } from '../lib/ui/format.js';
import { flag, requiredOption, stringOption } from '../lib/options.js';
import { withQueue } from '../lib/platform/redis-access.js';
import { JOB_DIR_META, validateJobInput } from '../lib/queue/validate.js';
import { type Task, print, printJson, sayConfig } from '../lib/task.js';
import logs from './logs.js';

const task: Task = {
  summary: 'queue a CI job for a repository at a ref',
  usage: ['dispatch --repo <clone-url|path> [--ref <ref>] [--sha <sha>] [--follow] [--json] [--dry-run]'],
  details:
    'Prints the job id. Dispatching the same repo and commit (or ref, without --sha) while an\n' +
    'earlier job for it is queued or running returns that job instead of queueing a second one.\n' +
    'A local path must be a git repository or a folder in one (then the pipeline runs in that\n' +
    'folder); the ref (or --sha) must name a commit there, one that holds the folder.\n' +
    "With --follow it prints the job's log until the job ends and exits 0 only if it succeeded.",
  options: {
    repo: { type: 'string', value: 'clone-url|path', description: 'what to build: a clone URL or a local repository' },
    ref: { type: 'string', value: 'ref', description: 'branch, tag or ref to build', default: 'HEAD' },
    sha: { type: 'string', value: 'sha', description: 'the exact commit, when known' },
    follow: { type: 'boolean', short: 'f', description: "then print the job's log until it ends; the exit code is the job's result" },
    json: { type: 'boolean', description: 'print an object with the id instead of the bare id' },
    'dry-run': { type: 'boolean', description: 'validate and show the job without queueing it' },
  },
  async run(input) {
    const { io } = input;
    const job = validateJobInput(
      {
        repo: requiredOption(input, 'dispatch', 'repo'),
        ref: stringOption(input, 'dispatch', 'ref') ?? 'HEAD',
        sha: stringOption(input, 'dispatch', 'sha'),
        meta: { source: 'cli' },
      },
      process.cwd(),
    );
    const loaded = input.config();
    sayConfig(io, loaded);
    const dir = job.meta?.[JOB_DIR_META];
    if (dir)
      io.stderr.write(
        `raibid-task: ${printable(dir)} is a folder of ${printable(job.repo)}: the job builds the repository and runs the pipeline in ${printable(dir)}\n`,
      );
    if (flag(input, 'dry-run')) {
      const plan = { action: 'enqueue', repo: job.repo, ref: job.ref, sha: job.sha ?? null, dir: dir ?? null };
      if (flag(input, 'json')) printJson(io, { dryRun: true, ...plan });
      else print(io, `would queue ${printable(job.repo)} at ${printable(job.ref)}${job.sha ? ` (${job.sha})` : ''}${dir ? ` in ${printable(dir)}` : ''}`);
      return 0;
    }
    const { id, created } = await withQueue(loaded.config, input.io.env, ({ queue }) => queue.enqueue(job));
    if (flag(input, 'json')) printJson(io, { id, created, repo: job.repo, ref: job.ref, sha: job.sha ?? null });
    else {
      print(io, id);
      if (!created) io.stderr.write(`raibid-task: ${printable(job.repo)} at ${printable(job.sha ?? job.ref)} is already queued or running as ${id}\n`);
    }
    if (!flag(input, 'follow')) return 0;
    return logs.run({ ...input, values: { follow: true }, positionals: [id] });
  },
};

export default task;
