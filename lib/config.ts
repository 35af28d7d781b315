import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { UserError } from './errors.js';
import { runningFarm } from './up/state.js';
import { untrusted } from './paths.js';
import { redactUrl } from './redis.js';
import { describeSchemaError } from './schema-error.js';

const port = z.number().int().min(1).max(65535);
const quantity = z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'a Kubernetes quantity such as 20Gi');

const hostSchema = z.strictObject({
  address: z.string().min(1),
  port: port.default(22),
  user: z.string().min(1).default('ubuntu'),
  identityFile: z.string().optional(),
  name: z.string().optional(),
});

const ownerSelection = z.strictObject({
  name: z.string().min(1),
  include: z.string().default('.*'),
  exclude: z.string().optional(),
  forks: z.boolean().default(false),
  archived: z.boolean().default(false),
});

export const configSchema = z.strictObject({
  host: hostSchema.optional(),
  nodes: z.array(hostSchema).default([]),
  k3s: z
    .strictObject({
      version: z
        .string()
        .regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, 'a k3s release such as v1.33.5+k3s1')
        .default('v1.33.5+k3s1'),
      context: z.string().default('raibid'),
      airgap: z.strictObject({ dir: z.string().min(1) }).optional(),
      apiUrl: z.string().url().optional(),
      readyTimeoutSeconds: z.number().positive().default(300),
    })
    .prefault({}),
  ssh: z
    .strictObject({
      connectTimeoutSeconds: z.number().positive().default(10),
      configFile: z.string().optional(),
      knownHostsFile: z.string().optional(),
    })
    .prefault({}),
  redis: z
    .strictObject({
      url: z.string().refine(isRedisUrl, 'not a redis:// or rediss:// URL (e.g. redis://:password@127.0.0.1:6379)').optional(),
      storage: quantity.default('8Gi'),
    })
    .prefault({}),
  queue: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(100).default(3),
      // agents renew their leases well within it; a shorter one has them take each other's jobs
      visibilityTimeoutSeconds: z.number().min(5).default(30),
      retryBackoffSeconds: z.number().min(0).default(2),
      retainJobs: z.number().int().min(10).default(10000),
      // a finished job stays at least a day: a shorter retention would expire it as it finishes
      retainDays: z.number().min(1).default(7),
      logLines: z.number().int().min(100).default(10000),
    })
    .prefault({}),
  gitea: z
    .strictObject({
      url: z.string().url().optional(),
      adminUser: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a Gitea user name')
        .refine((name) => name !== 'admin', 'Gitea reserves the name admin')
        .default('raibid-admin'),
      org: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a Gitea organisation name')
        .default('raibid'),
      storage: quantity.default('20Gi'),
    })
    .prefault({}),
  webhook: z
    .strictObject({
      /** Where GitHub reaches `serve` (its /hooks/github), for `mirror hooks install`; commit statuses link to its /jobs/<id>. */
      publicUrl: z.string().url().optional(),
      port: port.default(8080),
      /** Whether a pushed tag is built (once per tag, at the commit it points to). */
      tags: z.boolean().default(false),
    })
    .prefault({}),
  statuses: z
    .strictObject({
      /** The name GitHub and Gitea show a job's commit status under. */
      context: z.string().min(1).max(100).default('raibid/ci'),
    })
    .prefault({}),
  platform: z
    .strictObject({
      timeoutSeconds: z.number().positive().default(600),
      pollSeconds: z.number().min(0.01).max(60).default(2),
    })
    .prefault({}),
  github: z
    .strictObject({
      apiUrl: z.string().url().default('https://api.github.com'),
    })
    .prefault({}),
  mirror: z
    .strictObject({
      repos: z.array(z.string()).default([]),
      orgs: z.array(ownerSelection).default([]),
      users: z.array(ownerSelection).default([]),
      targetOrg: z.string().optional(),
      intervalMinutes: z.number().int().min(10).default(480),
      wiki: z.boolean().default(false),
      lfs: z.boolean().default(false),
      /** What happens to a mirror whose GitHub repo was deleted: reported, or archived too. */
      whenDeleted: z.enum(['report', 'archive']).default('report'),
      /** What happens to a mirror whose GitHub repo was renamed: reported, or renamed too. */
      whenRenamed: z.enum(['report', 'rename']).default('report'),
      concurrency: z.number().int().min(1).max(32).default(4),
      /** Gitea clones a new mirror before it answers: how long a large repository may take. */
      migrateTimeoutSeconds: z.number().positive().default(900),
    })
    .prefault({}),
  agents: z
    .strictObject({
      max: z.number().int().min(1).default(8),
      concurrency: z.number().int().min(1).default(1),
      cpu: z.string().default('2'),
      memory: z.string().default('4Gi'),
      command: z.string().optional(),
      cacheDir: z.string().optional(),
      jobTimeoutSeconds: z.number().positive().default(3600),
      gpu: z.boolean().default(false),
      /** A root agent runs checkouts and steps as this user (the agent pods: 10001). */
      buildUid: z.number().int().min(1).max(2_147_483_647).optional(),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;

export interface Secrets {
  githubToken?: string;
  giteaToken?: string;
  /** What agents fetch from Gitea with (read:repository): never given to a step. */
  giteaReadToken?: string;
  /** Given instead of generated: the platform's Redis password, Gitea admin password and webhook secret. */
  redisPassword?: string;
  giteaAdminPassword?: string;
  webhookSecret?: string;
}

/** Where each secret comes from: this variable, else secrets.env or RAIBID_SECRETS_DIR's file of that name. */
export const SECRET_ENV: Record<keyof Secrets, string> = {
  githubToken: 'GITHUB_TOKEN',
  giteaToken: 'GITEA_TOKEN',
  giteaReadToken: 'GITEA_READ_TOKEN',
  redisPassword: 'RAIBID_REDIS_PASSWORD',
  giteaAdminPassword: 'GITEA_ADMIN_PASSWORD',
  webhookSecret: 'RAIBID_WEBHOOK_SECRET',
};

export interface LoadedConfig {
  config: Config;
  /** The file it came from, or undefined when built from defaults and env alone. */
  path: string | undefined;
  /** The file is in the current directory, whose config a user may not expect (a checkout, /tmp). */
  inCurrentDir: boolean;
  secrets: Secrets;
  /** The pid of the `raibid-task up` whose queue redis.url points at, when no redis.url was configured. */
  farmPid?: number;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** Where the user's config and secrets live: $XDG_CONFIG_HOME/raibid, else ~/.config/raibid. */
export const configDir = (env: NodeJS.ProcessEnv) => join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'raibid');

export const secretsFile = (env: NodeJS.ProcessEnv) => env.RAIBID_SECRETS ?? join(configDir(env), 'secrets.env');

export function configCandidates(env: NodeJS.ProcessEnv, cwd: string): string[] {
  return [join(cwd, 'raibid.config.yaml'), join(configDir(env), 'config.yaml')];
}

export function findConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const named = explicit ?? env.RAIBID_CONFIG;
  if (named) {
    const path = resolve(cwd, named);
    if (!existsSync(path)) {
      throw new UserError(`config file not found: ${path}`, {
        hint: 'check --config / RAIBID_CONFIG, or run `raibid-task setup` to write one',
      });
    }
    return path;
  }
  const found = configCandidates(env, cwd).find((path) => existsSync(path));
  if (found === join(cwd, 'raibid.config.yaml')) checkTrusted(found);
  return found;
}

/**
 * A config found in the current directory is used only when it is the user's own and nobody
 * else may change it (as git's safe.directory): a folder such as /tmp, or a checkout of
 * somebody's repository, must not choose the hosts and commands raibid-task runs.
 */
function checkTrusted(path: string): void {
  const why = untrusted(statSync(path));
  if (why)
    throw new UserError(`${path}: ${why.reason}; not used`, {
      hint: `pass it with --config ${path} if you trust it, or make it yours: chown $USER ${path} && chmod go-w ${path}`,
    });
}

export function parseConfig(raw: unknown, source: string): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  throw new UserError(`${source}: ${describeSchemaError(result.error)}`, {
    hint: 'see config/raibid.config.example.yaml for every key and its type',
  });
}

export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): LoadedConfig {
  let env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const path = findConfigFile(options.file, env, cwd);
  let raw: unknown = {};
  if (path) {
    try {
      raw = parseYaml(readFileSync(path, 'utf8'));
    } catch (error) {
      const reason = (error as Error).message.split('\n')[0];
      throw new UserError(`${path}: not valid YAML: ${reason}`, { hint: 'fix the YAML syntax at the position shown' });
    }
  }
  const config = parseConfig(raw, path ?? 'config');
  const fromFile = { ...readSecretsFile(secretsFile(env)), ...readSecretsDir(env.RAIBID_SECRETS_DIR) };
  if (!env.RAIBID_REDIS_URL && fromFile.RAIBID_REDIS_URL) env = { ...env, RAIBID_REDIS_URL: fromFile.RAIBID_REDIS_URL };
  if (env.RAIBID_REDIS_URL) {
    if (!isRedisUrl(env.RAIBID_REDIS_URL)) {
      throw new UserError(`RAIBID_REDIS_URL: not a redis:// or rediss:// URL (${redactUrl(env.RAIBID_REDIS_URL)})`, {
        hint: 'e.g. redis://:password@127.0.0.1:6379',
      });
    }
    config.redis.url = env.RAIBID_REDIS_URL;
  }
  const farm = config.redis.url ? undefined : runningFarm(env);
  if (farm) config.redis.url = farm.redisUrl;
  const secret = (name: string) => env[name] || fromFile[name] || undefined;
  return {
    config,
    path,
    inCurrentDir: path !== undefined && dirname(path) === cwd,
    farmPid: farm?.pid,
    secrets: {
      githubToken: secret(SECRET_ENV.githubToken),
      giteaToken: secret(SECRET_ENV.giteaToken),
      giteaReadToken: secret(SECRET_ENV.giteaReadToken),
      redisPassword: checkRedisPassword(secret(SECRET_ENV.redisPassword)),
      giteaAdminPassword: secret(SECRET_ENV.giteaAdminPassword),
      webhookSecret: secret(SECRET_ENV.webhookSecret),
    },
  };
}

/**
 * Valkey's chart hashes the password with `echo -n` under /bin/sh (templates/init_config.yaml),
 * where dash's echo expands backslashes and `$(cat …)` drops trailing line breaks: such a
 * password would never match what clients send.
 */
function checkRedisPassword(password: string | undefined): string | undefined {
  if (password && /[\\\r\n]/.test(password)) {
    throw new UserError("RAIBID_REDIS_PASSWORD: has a backslash or a line break, which Valkey's init script would hash differently from what clients send", {
      hint: 'choose one without \\ and line breaks, or unset it and bootstrap generates one',
    });
  }
  return password;
}

/**
 * Secrets kept for runs without a shell's environment (cron): KEY=value lines in a file only
 * its owner may read. The environment wins over it.
 */
export function readSecretsFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const stat = statSync(path);
  if (!stat.isFile())
    throw new UserError(`${path}: not a file (RAIBID_SECRETS names the secrets file itself)`, {
      hint: 'KEY=value lines in a file of mode 0600, e.g. ~/.config/raibid/secrets.env',
    });
  const mode = stat.mode & 0o777;
  if (mode & 0o077) {
    throw new UserError(`${path}: readable by others (mode ${mode.toString(8).padStart(4, '0')}); it holds secrets`, { hint: `chmod 600 ${path}` });
  }
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.match(/^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => [m[1]!, m[2]!.replace(/^(['"])(.*)\1$/, '$2')]);
  return Object.fromEntries(entries);
}

/**
 * Secrets mounted as files (a Secret volume in the agent pods): one file per name, its content
 * the value. The agent reads them itself, so they are in no process' environment.
 */
export function readSecretsDir(dir: string | undefined): Record<string, string> {
  if (!dir || !existsSync(dir)) return {};
  const names = readdirSync(dir).filter((name) => /^[A-Z_][A-Z0-9_]*$/.test(name) && statSync(join(dir, name)).isFile());
  return Object.fromEntries(names.map((name) => [name, readFileSync(join(dir, name), 'utf8').replace(/\r?\n$/, '')]));
}

export function redisUrl(config: Config): string {
  return config.redis.url ?? DEFAULT_REDIS_URL;
}
