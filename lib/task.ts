import type { LoadedConfig } from './config.js';
import type { OptionSpecs, OptionValues } from './options.js';
import { printable } from './ui/format.js';

export interface TaskIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** The terminal's keys, for interactive screens (absent in tests that give only output streams). */
  stdin?: NodeJS.ReadStream;
}

export interface TaskInput<S extends OptionSpecs = OptionSpecs> {
  /** The task's options, checked against their specs and converted, defaults filled in. */
  options: OptionValues<S>;
  positionals: string[];
  /** The file --config names, for the tasks that look at the file itself rather than load it. */
  configFile: string | undefined;
  /** Loaded on first use, so `--help` and pure tasks never read a config. */
  config(): LoadedConfig;
  io: TaskIO;
  /** Resolves when the user asks the task to stop (Ctrl-C, SIGTERM). */
  interrupted: AbortSignal;
}

export interface Task<S extends OptionSpecs = OptionSpecs> {
  summary: string;
  /** Usage lines, each after `raibid-task `. */
  usage: string[];
  details?: string;
  options: S;
  /** How many positional arguments the task takes at most. */
  positionals?: number;
  /** What the first positional names (`jobs list`, `mirror sync`): checked before run, completed by the shell. */
  actions?: readonly string[];
  run(input: TaskInput<S>): Promise<number | void>;
}

/** A task whose `run` gets its options typed from their specs. */
export const defineTask = <const S extends OptionSpecs>(task: Task<S>): Task<S> => task;

export function print(io: TaskIO, line = ''): void {
  io.stdout.write(`${line}\n`);
}

export function printJson(io: TaskIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A config file's path as tasks name it, saying when it is the current directory's (which a user may not expect). */
export const configPathLabel = (path: string, inCurrentDir: boolean) => `${printable(path)}${inCurrentDir ? ' (from the current directory)' : ''}`;

/** Which config a task that changes things acts on; on stderr, so stdout stays its output (JSON with --json). */
export function sayConfig(io: TaskIO, loaded: LoadedConfig): void {
  const which = loaded.path ? `config ${configPathLabel(loaded.path, loaded.inCurrentDir)}` : 'no config file (defaults and environment)';
  const farm = loaded.farmPid ? `, and the queue of \`raibid-task up\` (pid ${loaded.farmPid})` : '';
  io.stderr.write(`raibid-task: using ${which}${farm}\n`);
}

export interface TaskEntry {
  name: string;
  summary: string;
  load: () => Promise<{ default: Task }>;
}
