import { parseArgs } from 'node:util';
import { loadConfig, type LoadedConfig } from './config.js';
import { EXIT_FAILURE, EXIT_USAGE, UserError, describeNetworkError } from './errors.js';
import { closest } from './suggest.js';
import { type OptionSpec, type OptionSpecs, defineOptions, describeOption, parseOptions } from './options.js';
import type { Task, TaskEntry, TaskIO } from './task.js';

/** The flags of raibid-task itself, given instead of a task. */
export const GLOBAL_FLAGS = [
  { short: 'h', long: 'help', description: 'show this help' },
  { short: 'V', long: 'version', description: 'print the version' },
] as const;

export const COMMON_OPTIONS = defineOptions({
  config: { kind: 'string', value: 'file', description: 'config file (default: $RAIBID_CONFIG, ./raibid.config.yaml, ~/.config/raibid/config.yaml)' },
  help: { kind: 'boolean', short: 'h', description: GLOBAL_FLAGS[0].description },
});

function optionLabel(name: string, spec: OptionSpec): string {
  const short = spec.short ? `-${spec.short}, ` : '    ';
  return `${short}--${name}${spec.kind === 'boolean' ? '' : ` <${spec.value ?? 'value'}>`}`;
}

export function mainHelp(tasks: TaskEntry[]): string {
  const width = Math.max(...tasks.map((t) => t.name.length)) + 2;
  const flagWidth = Math.max(...GLOBAL_FLAGS.map((f) => f.long.length)) + 2;
  return [
    'raibid-task — a personal CI farm on a DGX Spark: k3s, Gitea mirrors, Redis Streams jobs, KEDA agents',
    '',
    'Usage: raibid-task <task> [options]',
    '',
    'Tasks:',
    ...tasks.map((t) => `  ${t.name.padEnd(width)}${t.summary}`),
    '',
    'Options:',
    ...GLOBAL_FLAGS.map((f) => `  -${f.short}, --${f.long.padEnd(flagWidth)}${f.description}`),
    '',
    'Run `raibid-task help <task>` (or `raibid-task <task> --help`) for the options of one task.',
    '',
  ].join('\n');
}

export function taskHelp(name: string, task: Task): string {
  const options: OptionSpecs = { ...task.options, ...COMMON_OPTIONS };
  const labels = Object.entries(options).map(([n, spec]) => [optionLabel(n, spec), spec] as const);
  const width = Math.max(...labels.map(([label]) => label.length)) + 2;
  return [
    `raibid-task ${name} — ${task.summary}`,
    '',
    'Usage:',
    ...task.usage.map((u) => `  raibid-task ${u}`),
    ...(task.details ? ['', task.details] : []),
    '',
    'Options:',
    ...labels.map(([label, spec]) => `  ${label.padEnd(width)}${describeOption(spec)}`),
    '',
  ].join('\n');
}

/** `--limit -3` as `--limit=-3`, so a negative number reaches the option's own check instead of reading as a flag. */
function attachNegativeValues(argv: string[], options: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const spec = name === undefined ? undefined : options[name];
    if (spec && spec.kind !== 'boolean' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else out.push(arg);
  }
  return out;
}

function unknownOptionHint(name: string, message: string, options: OptionSpecs): string {
  const typed = message.match(/Unknown option '-{1,2}([^']+)'/)?.[1];
  const guess = typed === undefined ? undefined : closest(typed, Object.keys(options));
  return guess ? `did you mean --${guess}? See \`raibid-task ${name} --help\`` : `see \`raibid-task ${name} --help\``;
}

function parseTaskArgs(name: string, task: Task, argv: string[]) {
  const options: OptionSpecs = { ...task.options, ...COMMON_OPTIONS };
  try {
    return parseArgs({
      args: attachNegativeValues(argv, options),
      options: Object.fromEntries(
        Object.entries(options).map(([n, spec]) => [n, { type: spec.kind === 'boolean' ? 'boolean' : 'string', ...(spec.short ? { short: spec.short } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new UserError(`${name}: ${message}`, { hint: unknownOptionHint(name, message, options) });
  }
}

function findTask(name: string, tasks: TaskEntry[]): TaskEntry {
  const entry = tasks.find((t) => t.name === name);
  if (entry) return entry;
  const guess = closest(
    name,
    tasks.map((t) => t.name),
  );
  throw new UserError(`unknown task '${name}'`, {
    hint: guess ? `did you mean \`raibid-task ${guess}\`? All tasks: raibid-task --help` : 'all tasks: raibid-task --help',
  });
}

function checkAction(name: string, task: Task, action: string | undefined): void {
  if (!task.actions || action === undefined || task.actions.includes(action)) return;
  const guess = closest(action, task.actions);
  throw new UserError(`${name}: unknown action '${action}'`, {
    hint: `${guess ? `did you mean \`raibid-task ${name} ${guess}\`? ` : ''}use one of: ${task.actions.join(', ')}`,
  });
}

export async function main(argv: string[], io: TaskIO, tasks: TaskEntry[], version = 'unknown'): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined) {
    io.stdout.write(taskHelp(rest[0], (await findTask(rest[0], tasks).load()).default));
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp(tasks));
    return name ? 0 : EXIT_USAGE;
  }
  if (name === '--version' || name === '-V' || name === '-v') {
    io.stdout.write(`${version}\n`);
    return 0;
  }
  const task = (await findTask(name, tasks).load()).default;
  const parsed = parseTaskArgs(name, task, rest);
  if (parsed.values.help) {
    io.stdout.write(taskHelp(name, task));
    return 0;
  }
  checkAction(name, task, parsed.positionals[0]);
  const limit = task.positionals ?? 0;
  if (parsed.positionals.length > limit) {
    throw new UserError(`${name}: unexpected argument '${parsed.positionals[limit]}'`, {
      hint: `see \`raibid-task ${name} --help\``,
    });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const { config: configFile } = parseOptions(name, COMMON_OPTIONS, values);
  const options = parseOptions(name, task.options, values);
  let loaded: LoadedConfig | undefined;
  const controller = new AbortController();
  const interrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    const code = await task.run({
      options,
      positionals: parsed.positionals,
      configFile,
      config: () => (loaded ??= loadConfig({ file: configFile, env: io.env })),
      io,
      interrupted: controller.signal,
    });
    return code ?? 0;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

export function reportError(error: unknown, io: TaskIO): number {
  if (error instanceof UserError) {
    io.stderr.write(`raibid-task: ${error.message}\n`);
    if (error.hint) io.stderr.write(`  hint: ${error.hint}\n`);
    return error.exitCode;
  }
  const err = error as Error;
  io.stderr.write(`raibid-task: ${describeNetworkError(err) ?? err?.message ?? String(error)}\n`);
  if (io.env.RAIBID_DEBUG) io.stderr.write(`${err?.stack ?? ''}\n`);
  else io.stderr.write('  hint: run again with RAIBID_DEBUG=1 for the stack trace\n');
  return EXIT_FAILURE;
}

/** The whole life of a CLI process: run the task, report, set the exit code. */
export function runProcessCli(tasks: TaskEntry[], version?: string): void {
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin };
  // the reader went away (`status | head -1`): nothing is left to say to it
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  main(process.argv.slice(2), io, tasks, version)
    .catch((error: unknown) => reportError(error, io))
    .then((code) => {
      process.exitCode = code;
      // A task closes what it opened; this only bounds a straggling socket's grace period.
      setTimeout(() => process.exit(code), 1000).unref();
    });
}
