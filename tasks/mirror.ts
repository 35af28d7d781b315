import { join, resolve } from 'node:path';
import { defaultCacheRoot } from '../lib/agent/cache.js';
import { UserError, failure } from '../lib/errors.js';
import { CRON_MARKER, DEFAULT_SCHEDULE, checkSchedule, cronLine, readCrontab, withCronLine, writeCrontab } from '../lib/mirror/cron.js';
import { installHooks } from '../lib/mirror/hooks.js';
import type { MirrorAction } from '../lib/mirror/plan.js';
import { counted, giteaClient, planRun, syncMirrors } from '../lib/mirror/run.js';
import { defineOptions } from '../lib/options.js';
import { progressFor } from '../lib/steps.js';
import { type TaskInput, defineTask, print, printJson, sayConfig } from '../lib/task.js';

const options = defineOptions({
  json: { kind: 'boolean', description: 'print one JSON object' },
  prune: { kind: 'boolean', description: 'delete mirrors whose source is gone or no longer selected' },
  full: { kind: 'boolean', description: 'read every mirror from Gitea, not only those GitHub pushed to (done daily anyway)' },
  'dry-run': { kind: 'boolean', description: 'print what would change, change nothing' },
  schedule: { kind: 'string', value: 'cron', description: 'when cron runs sync', default: DEFAULT_SCHEDULE },
});
type Input = TaskInput<typeof options>;

const describe = (a: MirrorAction): string => {
  switch (a.kind) {
    case 'create-org':
      return `create org ${a.org}`;
    case 'create':
      return `create mirror ${a.item.org}/${a.item.source.name} of ${a.item.source.owner}/${a.item.source.name}`;
    case 'update':
      return `${a.sync ? 'sync' : 'keep'} ${a.item.org}/${a.item.source.name}${a.interval ? `, interval ${a.interval}` : ''}`;
    case 'unchanged':
      return `unchanged ${a.item.org}/${a.item.source.name}`;
    case 'conflict':
      return `conflict ${a.item.org}/${a.item.source.name}: ${a.reason}`;
    case 'orphan':
      return `not selected any more: ${a.mirror.owner}/${a.mirror.name} (looked up on GitHub when syncing)`;
  }
};

async function list(input: Input): Promise<number> {
  const run = await planRun(input.config(), input.io.env, undefined);
  const rows = run.selected.map((s) => ({
    source: `${s.source.owner}/${s.source.name}`,
    target: `${s.org}/${s.source.name}`,
    via: s.via,
    private: s.source.private,
    pushedAt: s.source.pushedAt,
  }));
  if (input.options.json) printJson(input.io, { repos: rows, problems: run.problems });
  else {
    for (const r of rows) print(input.io, `${r.source} → ${r.target}  (${r.via}${r.private ? ', private' : ''})`);
    for (const p of run.problems) print(input.io, `warning: ${p}`);
    print(input.io, `${rows.length} repositories selected`);
  }
  return 0;
}

async function sync(input: Input): Promise<number> {
  const loaded = input.config();
  sayConfig(input.io, loaded);
  const json = input.options.json;
  if (input.options['dry-run']) {
    const run = await planRun(loaded, input.io.env, giteaClient(loaded), input.options.full);
    if (json) printJson(input.io, { dryRun: true, actions: run.actions.map(describe), problems: run.problems });
    else for (const line of [...run.actions.map(describe), ...run.problems.map((p) => `warning: ${p}`)]) print(input.io, line);
    return 0;
  }
  const progress = json ? 'none' : progressFor(input.io.stdout, input.io.env);
  const result = await syncMirrors(loaded, input.io.env, { prune: input.options.prune, full: input.options.full, progress });
  const { created, synced, unchanged, failed, notes, github } = result;
  if (json) printJson(input.io, { created, synced, unchanged, failed, notes, github, fullCheck: result.fullCheck });
  else {
    for (const note of notes) print(input.io, note);
    print(input.io, counted(result));
  }
  return failed > 0 ? 1 : 0;
}

async function cron(input: Input): Promise<number> {
  const action = input.positionals[1];
  if (action !== 'install' && action !== 'remove')
    throw new UserError(`mirror cron: '${action ?? ''}' is not install or remove`, {
      hint: 'raibid-task mirror cron install [--schedule "*/15 * * * *"] | remove',
    });
  const dryRun = input.options['dry-run'];
  let line: string | undefined;
  if (action === 'install') {
    const schedule = checkSchedule(input.options.schedule);
    const loaded = input.config();
    if (!loaded.path) throw new UserError('mirror cron install: no config file to run with', { hint: 'write one (raibid-task setup) or pass --config <file>' });
    sayConfig(input.io, loaded);
    const argv = [process.execPath, resolve(process.argv[1]!), 'mirror', 'sync', '--config', loaded.path];
    line = cronLine(schedule, argv, join(defaultCacheRoot(input.io.env), 'mirror-sync.log'));
  }
  let current: string;
  try {
    current = readCrontab();
  } catch (error) {
    if (!line || !(error instanceof UserError)) throw error;
    if (!dryRun) throw failure(`mirror cron install: ${error.message}`, `install cron, or have your scheduler run this line: ${line}`);
    print(input.io, `would add this line to the crontab (${error.message} here):\n${line}`);
    return 0;
  }
  const next = withCronLine(current, line);
  const verb =
    action === 'install'
      ? current.includes(line!)
        ? 'already installed'
        : 'installed'
      : current.includes(CRON_MARKER)
        ? 'removed'
        : 'not installed: nothing to remove';
  if (dryRun) {
    if (line) print(input.io, `would ${current.includes(line) ? 'keep' : 'add'} this line:\n${line}\n`);
    print(input.io, `would write this crontab:\n${next}`);
    return 0;
  }
  if (next !== current) writeCrontab(next);
  print(input.io, `mirror sync cron entry ${verb}${line ? `: ${line.replace(` ${CRON_MARKER}`, '')}` : ''}`);
  return 0;
}

async function hooks(input: Input): Promise<number> {
  if (input.positionals[1] !== 'install')
    throw new UserError(`mirror hooks: '${input.positionals[1] ?? ''}' is not install`, { hint: 'raibid-task mirror hooks install [--dry-run]' });
  const loaded = input.config();
  sayConfig(input.io, loaded);
  const lines = await installHooks(loaded, input.io.env, { dryRun: input.options['dry-run'] });
  for (const line of lines) print(input.io, line);
  return 0;
}

const ACTIONS: Record<string, (input: Input) => Promise<number>> = { list, sync, cron, hooks };

export default defineTask({
  summary: 'mirror GitHub repositories into Gitea: list, sync, cron, webhooks',
  usage: [
    'mirror list [--json]',
    'mirror sync [--prune] [--full] [--dry-run] [--json]',
    'mirror cron install [--schedule "*/15 * * * *"] [--dry-run]',
    'mirror cron remove [--dry-run]',
    'mirror hooks install [--dry-run]',
  ],
  details:
    'list: the repositories mirror.repos, mirror.orgs and mirror.users select, and the Gitea org each\n' +
    'goes to; changes nothing. sync: creates missing orgs and pull mirrors, sets intervals, and asks\n' +
    'Gitea to sync only the mirrors GitHub pushed to since their last sync (after a clean run it\n' +
    'remembers what Gitea holds and reads it in full once a day, or with --full); mirrors whose source is\n' +
    'gone or renamed are reported (mirror.whenDeleted / whenRenamed act on them, --prune deletes).\n' +
    'One sync at a time; it ends with "created N, synced N, unchanged N, failed N" and exits 1 when\n' +
    'anything failed. GitHub lists are read with ETags (a 304 costs no rate limit). cron: adds or\n' +
    'removes the crontab line running sync. hooks install: GitHub push webhooks at webhook.publicUrl.\n' +
    'Needs GITEA_TOKEN (and GITHUB_TOKEN for private repositories and a higher rate limit).',
  options,
  positionals: 2,
  actions: Object.keys(ACTIONS),
  async run(input) {
    const action = input.positionals[0];
    const run = action && ACTIONS[action];
    if (!run) throw new UserError(`mirror: '${action ?? ''}' is not one of ${Object.keys(ACTIONS).join(', ')}`, { hint: 'see `raibid-task mirror --help`' });
    return run(input);
  },
});
