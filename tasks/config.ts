import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { configSchema, findConfigFile, loadConfig } from '../lib/config.js';
import { configView } from '../lib/config-view.js';
import { EXIT_USAGE, UserError } from '../lib/errors.js';
import { defineOptions } from '../lib/options.js';
import { describeSchemaIssues } from '../lib/schema-error.js';
import { type TaskInput, defineTask, print, printJson } from '../lib/task.js';
import { printable } from '../lib/ui/format.js';

const options = defineOptions({
  json: { kind: 'boolean', description: 'show: print one JSON object' },
});
type Input = TaskInput<typeof options>;

function show(input: Input): number {
  const { io } = input;
  const view = configView(input.config(), io.env);
  if (input.options.json) {
    printJson(io, view);
    return 0;
  }
  print(io, view.path ? `# from ${printable(view.path)}${view.inCurrentDir ? ' (the current directory)' : ''}` : '# no config file: defaults and environment');
  for (const [key, name] of Object.entries(view.overrides)) print(io, `# ${key} from ${name}`);
  io.stdout.write(stringify(view.config, { lineWidth: 0 }));
  print(io, '# secrets (values never shown):');
  const width = Math.max(...Object.keys(view.secrets).map((name) => name.length)) + 2;
  for (const [name, where] of Object.entries(view.secrets)) print(io, `#   ${name.padEnd(width)}${where}`);
  return 0;
}

/** Every problem the schema finds, one line each; then what loading adds (secrets file, env). */
function validate(input: Input): number {
  const { io } = input;
  const named = input.positionals[1] ?? input.configFile;
  const path = findConfigFile(named === undefined ? undefined : resolve(named), io.env, process.cwd());
  if (!path) {
    print(io, 'no config file found: tasks use the defaults and the environment');
    return 0;
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path}: not valid YAML: ${(error as Error).message.split('\n')[0]}`, { hint: 'fix the YAML syntax at the position shown' });
  }
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    for (const line of describeSchemaIssues(result.error)) io.stderr.write(`raibid-task: ${printable(path)}: ${line}\n`);
    io.stderr.write('  hint: see config/raibid.config.example.yaml for every key and its type\n');
    return EXIT_USAGE;
  }
  loadConfig({ file: path, env: io.env });
  print(io, `${printable(path)}: valid`);
  return 0;
}

const ACTIONS = { show, validate } as const;

export default defineTask({
  summary: 'show the config tasks use (secrets masked), or validate a config file',
  usage: ['config show [--json]', 'config validate [file]'],
  details:
    'show: the effective config, defaults filled in and the environment applied, with passwords\n' +
    'in URLs masked; which file it came from; which secrets are set and where from (never their values).\n' +
    'validate: the file that --config, $RAIBID_CONFIG or the usual places name (or the one given);\n' +
    'exits 0 when every task would accept it, else 2 with one line per problem.',
  options,
  positionals: 2,
  actions: Object.keys(ACTIONS),
  async run(input) {
    const action = input.positionals[0] as keyof typeof ACTIONS | undefined;
    if (!action) throw new UserError('config: show or validate?', { hint: 'raibid-task config show | config validate [file]' });
    return ACTIONS[action](input);
  },
});
