import { UserError } from './errors.js';
import { printable } from './ui/format.js';

interface Described {
  short?: string;
  description: string;
}

export interface StringOption extends Described {
  kind: 'string';
  /** Shown in help as `--name <value>`. */
  value?: string;
  default?: string;
  required?: boolean;
  /** The values it takes: any other is refused, and shell completion offers these. */
  choices?: readonly string[];
  /** What one of the choices is, as the refusal says it: `'x' is not a job state`. */
  choiceName?: string;
  /** An empty value is an answer (setup's `--key ''`: none), not a missing one. */
  allowEmpty?: boolean;
}

export interface NumberOption extends Described {
  kind: 'number';
  value?: string;
  default?: number;
  min: number;
  max?: number;
  integer?: boolean;
}

export interface BooleanOption extends Described {
  kind: 'boolean';
}

export type OptionSpec = StringOption | NumberOption | BooleanOption;
export type OptionSpecs = Record<string, OptionSpec>;

type StringValue<S> = S extends { choices: readonly (infer C extends string)[] } ? C : string;
type OptionValue<S extends OptionSpec> = S extends BooleanOption
  ? boolean
  : S extends NumberOption
    ? S extends { default: number }
      ? number
      : number | undefined
    : S extends { default: string } | { required: true }
      ? StringValue<S>
      : StringValue<S> | undefined;

/** What a task reads: an option with a default or required is always there, a flag is true or false. */
export type OptionValues<S extends OptionSpecs> = { [K in keyof S]: OptionValue<S[K]> };

/** The values as parseArgs gives them (numbers still as text). */
export type RawValues<S extends OptionSpecs> = { [K in keyof S]?: string | boolean };

/** Keeps the literal types of specs declared apart from their task, so their values are typed. */
export const defineOptions = <const S extends OptionSpecs>(specs: S): S => specs;

/** What help and shell completion say of an option: its description and default (one with spaces in quotes, as typed). */
export function describeOption(spec: OptionSpec): string {
  if (spec.kind === 'boolean' || spec.default === undefined) return spec.description;
  const text = String(spec.default);
  return `${spec.description} (default: ${/\s/.test(text) ? `"${text}"` : text})`;
}

const helpHint = (task: string) => `see \`raibid-task ${task} --help\``;

function optionValue(task: string, name: string, spec: OptionSpec, raw: string | boolean | undefined): string | number | boolean | undefined {
  const refuse = (problem: string, hint = helpHint(task)) => new UserError(`${task}: --${name} ${problem}`, { hint });
  if (spec.kind === 'boolean') return raw === true;
  if (raw === undefined) {
    if (spec.kind === 'string' && spec.required) throw refuse('is required');
    return spec.default;
  }
  if (typeof raw !== 'string' || (raw.trim() === '' && !(spec.kind === 'string' && spec.allowEmpty))) throw refuse('needs a value');
  if (spec.kind === 'string') {
    const { choices, choiceName } = spec;
    if (!choices || choices.includes(raw)) return raw;
    if (!choiceName) throw refuse(`'${printable(raw)}' is not one of ${choices.join(', ')}`);
    throw refuse(`'${printable(raw)}' is not a ${choiceName}`, `${choiceName}s: ${choices.join(', ')}`);
  }
  const value = Number(raw);
  const { min, max, integer } = spec;
  if (Number.isFinite(value) && value >= min && (max === undefined || value <= max) && (!integer || Number.isInteger(value))) return value;
  const range = max === undefined ? `at least ${min}` : `from ${min} to ${max}`;
  throw refuse(`'${printable(raw)}' is not ${integer ? 'a whole number' : 'a number'} ${range}`);
}

/** Every option of a task checked against its spec and converted, defaults filled in; bad input is a UserError naming the flag. */
export function parseOptions<S extends OptionSpecs>(task: string, specs: S, raw: RawValues<S>): OptionValues<S> {
  const values = raw as Record<string, string | boolean | undefined>;
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, optionValue(task, name, spec, values[name])])) as OptionValues<S>;
}
