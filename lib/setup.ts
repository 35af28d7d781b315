import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { configSchema, parseConfig } from './config.js';
import { UserError } from './errors.js';
import { compileRules } from './mirror/select.js';
import { stateDir, writeFileAtomic } from './paths.js';
import { describeSchemaError } from './schema-error.js';

type Raw = Record<string, unknown>;

/** One answer of the wizard: its prompt, its flag and env name, and where it goes in the config. */
export interface Question {
  flag: string;
  env: string;
  message: string;
  path: string[];
  required?: boolean;
  /** How the typed text becomes the config value (default: the text). */
  parse?: (text: string) => unknown;
  show?: (value: unknown) => string;
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const number = (text: string) => (/^\d+$/.test(text) ? Number(text) : text);

export const QUESTIONS: Question[] = [
  {
    flag: 'host',
    env: 'RAIBID_HOST',
    message: 'DGX Spark address (host name or IP; localhost: this machine, no SSH)',
    path: ['host', 'address'],
    required: true,
  },
  { flag: 'user', env: 'RAIBID_SSH_USER', message: 'SSH user on it', path: ['host', 'user'] },
  { flag: 'port', env: 'RAIBID_SSH_PORT', message: 'SSH port', path: ['host', 'port'], parse: number },
  { flag: 'key', env: 'RAIBID_SSH_KEY', message: 'SSH private key (empty: your ssh agent and config)', path: ['host', 'identityFile'] },
  {
    flag: 'nodes',
    env: 'RAIBID_NODES',
    message: 'worker nodes, comma-separated addresses (empty: none)',
    path: ['nodes'],
    parse: (text) => list(text).map((address) => ({ address })),
    show: (value) => ((value as { address: string }[] | undefined) ?? []).map((n) => n.address).join(','),
  },
  { flag: 'k3s-version', env: 'RAIBID_K3S_VERSION', message: 'k3s version', path: ['k3s', 'version'] },
  { flag: 'gitea-url', env: 'RAIBID_GITEA_URL', message: 'Gitea URL (empty: http://<host>)', path: ['gitea', 'url'] },
  {
    flag: 'mirror-repos',
    env: 'RAIBID_MIRROR_REPOS',
    message: 'repositories to mirror, owner/name, comma-separated',
    path: ['mirror', 'repos'],
    parse: list,
    show: (v) => ((v as string[] | undefined) ?? []).join(','),
  },
  {
    flag: 'mirror-orgs',
    env: 'RAIBID_MIRROR_ORGS',
    message: 'whole organisations to mirror, comma-separated (each as org or org:include-regex)',
    path: ['mirror', 'orgs'],
    parse: (text) =>
      list(text).map((entry) => {
        const [name, include] = entry.split(/:(.*)/s);
        return { name, ...(include ? { include } : {}) };
      }),
    show: (v) => ((v as { name: string; include?: string }[] | undefined) ?? []).map((o) => (o.include ? `${o.name}:${o.include}` : o.name)).join(','),
  },
  { flag: 'agents-max', env: 'RAIBID_AGENTS_MAX', message: 'most agents at once', path: ['agents', 'max'], parse: number },
  { flag: 'agent-cpu', env: 'RAIBID_AGENT_CPU', message: 'CPU per agent', path: ['agents', 'cpu'] },
  { flag: 'agent-memory', env: 'RAIBID_AGENT_MEMORY', message: 'memory per agent', path: ['agents', 'memory'] },
  {
    flag: 'webhook-url',
    env: 'RAIBID_WEBHOOK_URL',
    message: 'public URL where GitHub reaches the webhook receiver (empty: none)',
    path: ['webhook', 'publicUrl'],
  },
];

export function readRaw(path: string): Raw {
  if (!existsSync(path)) return {};
  return (parse(readFileSync(path, 'utf8')) as Raw | null) ?? {};
}

export function getAt(raw: Raw, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Raw)[key] : undefined), raw);
}

/** Sets (or, for an empty answer, removes) one value, leaving the rest of the file's config alone. */
export function setAt(raw: Raw, path: string[], value: unknown): void {
  const parent = path.slice(0, -1).reduce<Raw>((node, key) => (node[key] ??= {}) as Raw, raw);
  const last = path[path.length - 1]!;
  const empty = value === '' || value === undefined || (Array.isArray(value) && value.length === 0);
  if (empty) delete parent[last];
  else parent[last] = value;
}

export const shown = (q: Question, raw: Raw) => {
  const value = getAt(raw, q.path);
  return q.show ? q.show(value) : value === undefined ? '' : String(value);
};

/** `--yes` with required answers missing: one error naming all of them, with their flags and env names. */
export function missingAnswers(raw: Raw): Question[] {
  return QUESTIONS.filter((q) => q.required && shown(q, raw) === '');
}

export function requireAnswers(raw: Raw): void {
  const missing = missingAnswers(raw);
  if (missing.length > 0) {
    throw new UserError(`setup --yes: missing ${missing.map((q) => `${q.message} (--${q.flag} or ${q.env})`).join('; ')}`, {
      hint: 'give them as flags or env, or run setup at a terminal to be asked',
    });
  }
}

const startsWith = (path: PropertyKey[], prefix: string[]) => prefix.every((key, i) => String(path[i]) === key);

/** The config's defaults, for the prompts to show. */
const DEFAULTS = configSchema.parse({ host: { address: '-' } }) as unknown as Raw;

export function defaultShown(q: Question): string {
  if (q.required) return '';
  const value = getAt(DEFAULTS, q.path);
  const text = q.show ? q.show(value) : value === undefined ? '' : String(value);
  return text === '' || text === '-' ? '' : text;
}

export function applyAnswer(raw: Raw, q: Question, text: string): void {
  setAt(raw, q.path, q.parse ? q.parse(text.trim()) : text.trim());
}

/**
 * What is wrong with `text` as the answer to `q`, checked as every task will read the config (the
 * schema, then owner/name and the regexes of the mirror rules); undefined when it is fine.
 * Problems of other keys are left to their own questions.
 */
export function answerProblem(raw: Raw, q: Question, text: string): string | undefined {
  if (q.required && text.trim() === '') return 'an answer is needed';
  const trial = structuredClone(raw);
  applyAnswer(trial, q, text);
  const result = configSchema.safeParse(trial);
  if (!result.success) {
    const mine = result.error.issues.filter((issue) => startsWith(issue.path, q.path));
    return mine.length ? describeSchemaError({ ...result.error, issues: mine } as typeof result.error) : undefined;
  }
  if (q.path[0] !== 'mirror') return undefined;
  try {
    compileRules(result.data.mirror);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The whole config as every task reads it, mirror rules included: a UserError naming the key. */
export function checkConfig(path: string, raw: Raw): void {
  compileRules(parseConfig(raw, path).mirror);
}

/** Answers of a setup that did not finish, offered by the next one: 0600, never a secret. */
export const draftFile = (env: NodeJS.ProcessEnv) => join(stateDir(env), 'setup-draft.yaml');

export function saveDraft(env: NodeJS.ProcessEnv, raw: Raw): string {
  const file = draftFile(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, stringify(raw));
  return file;
}

export function readDraft(env: NodeJS.ProcessEnv): Raw | undefined {
  try {
    const raw = readRaw(draftFile(env));
    return Object.keys(raw).length ? raw : undefined;
  } catch {
    return undefined;
  }
}

export const removeDraft = (env: NodeJS.ProcessEnv) => rmSync(draftFile(env), { force: true });

/** Validates the whole config as every task will read it, then writes it; nothing is written when invalid. */
export function writeConfig(path: string, raw: Raw): void {
  checkConfig(path, raw);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, stringify(raw));
}

/** The secrets file: KEY=value lines, mode 0600, other keys kept. */
export function writeSecret(path: string, key: string, value: string): void {
  const lines = existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith(`${key}=`))
    : [];
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, [...lines, `${key}=${value}`].join('\n') + '\n');
}
