import { type LoadedConfig, SECRET_ENV, type Secrets, secretsFile } from './config.js';
import { redactUrl } from './redis.js';

const isUrl = (value: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(value) && URL.canParse(value);

/** A URL's password as ***; any other value as it is. */
const maskUrlPassword = (value: string) => (isUrl(value) && new URL(value).password ? redactUrl(value) : value);

function masked(value: unknown): unknown {
  if (typeof value === 'string') return maskUrlPassword(value);
  if (Array.isArray(value)) return value.map(masked);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v)]));
  return value;
}

export interface ConfigView {
  path: string | null;
  inCurrentDir: boolean;
  /** Keys the environment set over the file. */
  overrides: Record<string, string>;
  config: unknown;
  /** Each secret's env name: where it comes from, never its value. */
  secrets: Record<string, string>;
}

/** The config as tasks see it (defaults, file, environment), with every password and token masked. */
export function configView(loaded: LoadedConfig, env: NodeJS.ProcessEnv): ConfigView {
  const secrets = Object.fromEntries(
    (Object.keys(SECRET_ENV) as (keyof Secrets)[]).map((key) => {
      const name = SECRET_ENV[key];
      const where = !loaded.secrets[key]
        ? 'not set'
        : env[name]
          ? 'set, from the environment'
          : `set, from ${env.RAIBID_SECRETS_DIR ? `${env.RAIBID_SECRETS_DIR} or ` : ''}${secretsFile(env)}`;
      return [name, where];
    }),
  );
  return {
    path: loaded.path ?? null,
    inCurrentDir: loaded.inCurrentDir,
    overrides: env.RAIBID_REDIS_URL ? { 'redis.url': 'RAIBID_REDIS_URL' } : {},
    config: masked(loaded.config),
    secrets,
  };
}
