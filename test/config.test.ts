import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_REDIS_URL, loadConfig, redisUrl } from '../lib/config.js';
import { UserError } from '../lib/errors.js';

const test = suite('config');

function world() {
  const root = mkdtempSync(join(tmpdir(), 'raibid-config-'));
  const cwd = join(root, 'project');
  const xdg = join(root, 'xdg');
  mkdirSync(cwd);
  mkdirSync(join(xdg, 'raibid'), { recursive: true });
  return { root, cwd, xdg, env: { XDG_CONFIG_HOME: xdg } as NodeJS.ProcessEnv };
}

test('found via --config, then RAIBID_CONFIG, then ./raibid.config.yaml, then ~/.config/raibid/config.yaml', () => {
  const { root, cwd, xdg, env } = world();
  const write = (path: string, url: string) => writeFileSync(path, `redis:\n  url: ${url}\n`);
  assert.is(loadConfig({ env, cwd }).path, undefined);
  assert.is(redisUrl(loadConfig({ env, cwd }).config), DEFAULT_REDIS_URL);
  write(join(xdg, 'raibid', 'config.yaml'), 'redis://user-config');
  assert.is(loadConfig({ env, cwd }).config.redis.url, 'redis://user-config');
  write(join(cwd, 'raibid.config.yaml'), 'redis://project-config');
  assert.is(loadConfig({ env, cwd }).config.redis.url, 'redis://project-config');
  write(join(root, 'env.yaml'), 'redis://env-config');
  assert.is(loadConfig({ env: { ...env, RAIBID_CONFIG: join(root, 'env.yaml') }, cwd }).config.redis.url, 'redis://env-config');
  write(join(root, 'flag.yaml'), 'redis://flag-config');
  const flagged = loadConfig({ file: join(root, 'flag.yaml'), env: { ...env, RAIBID_CONFIG: join(root, 'env.yaml') }, cwd });
  assert.is(flagged.config.redis.url, 'redis://flag-config');
  assert.is(flagged.path, join(root, 'flag.yaml'));
});

test('env overrides the file: RAIBID_REDIS_URL; secrets come only from env', () => {
  const { cwd, env } = world();
  writeFileSync(join(cwd, 'raibid.config.yaml'), 'redis:\n  url: redis://from-file\n');
  const secretEnv = {
    GITHUB_TOKEN: 'ghp_x',
    GITEA_TOKEN: 'gt_y',
    GITEA_READ_TOKEN: 'gr_z',
    RAIBID_REDIS_PASSWORD: 'rp',
    GITEA_ADMIN_PASSWORD: 'gp',
    RAIBID_WEBHOOK_SECRET: 'ws',
  };
  const loaded = loadConfig({ env: { ...env, RAIBID_REDIS_URL: 'redis://from-env', ...secretEnv }, cwd });
  assert.is(loaded.config.redis.url, 'redis://from-env');
  assert.equal(loaded.secrets, {
    githubToken: 'ghp_x',
    giteaToken: 'gt_y',
    giteaReadToken: 'gr_z',
    redisPassword: 'rp',
    giteaAdminPassword: 'gp',
    webhookSecret: 'ws',
  });
  const none = loadConfig({ env: { ...env, GITHUB_TOKEN: '' }, cwd }).secrets;
  assert.ok(
    Object.values(none).every((v) => v === undefined),
    'empty or unset: not given',
  );
});

test('defaults fill what the file leaves out', () => {
  const { cwd, env } = world();
  writeFileSync(join(cwd, 'raibid.config.yaml'), 'host:\n  address: spark.local\n');
  const { config } = loadConfig({ env, cwd });
  assert.equal(config.host, { address: 'spark.local', port: 22, user: 'ubuntu' });
  assert.is(config.queue.maxAttempts, 3);
  assert.is(config.agents.max, 8);
  assert.is(config.agents.cpu, '2');
  assert.is(config.agents.memory, '4Gi');
});

test('the example config is valid as it is, its optional keys commented out; uncommented it is valid too and sets every key the schema knows', async () => {
  const example = new URL('../../config/raibid.config.example.yaml', import.meta.url).pathname;
  const { config } = loadConfig({ file: example, env: {}, cwd: '/' });
  assert.is(config.host?.address, 'spark-1.local');
  assert.equal(
    [config.nodes, config.agents.command, config.k3s.airgap, config.mirror.orgs, config.webhook.publicUrl],
    [[], undefined, undefined, [], undefined],
    'a copy runs nothing of the example',
  );
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(example, 'utf8');
  const uncommented = text.replace(/^(\s*)# (\s*(- )?[A-Za-z]\w*:( |$))/gm, '$1$2');
  assert.is.not(uncommented, text);
  const raw = parse(uncommented) as Record<string, unknown>;
  const { configSchema, parseConfig } = await import('../lib/config.js');
  const full = parseConfig(raw, 'uncommented example');
  assert.equal([full.nodes.length, full.agents.command, full.k3s.airgap?.dir], [1, './ci.sh', '~/k3s-airgap']);
  assert.equal(Object.keys(raw).sort(), Object.keys(configSchema.shape).sort());
});

test('an empty file is the defaults; a list at the top level is an error', () => {
  const { cwd, env } = world();
  writeFileSync(join(cwd, 'raibid.config.yaml'), '');
  assert.is(loadConfig({ env, cwd }).config.queue.maxAttempts, 3);
  writeFileSync(join(cwd, 'raibid.config.yaml'), '- a\n- b\n');
  assert.throws(
    () => loadConfig({ env, cwd }),
    (e: unknown) => e instanceof UserError && e.exitCode === 2,
  );
});

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    assert.instance(error, UserError);
    return (error as Error).message;
  }
  throw new Error('not refused');
};

test('bounds: a lease shorter than 5 s, a retention under a day and a Redis URL that is none are refused, naming the key, hiding the password', () => {
  const { cwd, env } = world();
  const file = join(cwd, 'raibid.config.yaml');
  writeFileSync(file, 'queue:\n  visibilityTimeoutSeconds: 0.001\n');
  assert.match(
    refusal(() => loadConfig({ env, cwd })),
    'queue.visibilityTimeoutSeconds: ',
  );
  writeFileSync(file, 'queue:\n  retainDays: 0.00001\n');
  assert.match(
    refusal(() => loadConfig({ env, cwd })),
    'queue.retainDays: ',
  );
  writeFileSync(file, 'redis:\n  url: http://user:hunter2@cache.local:6379\n');
  const url = refusal(() => loadConfig({ env, cwd }));
  assert.match(url, 'redis.url: not a redis:// or rediss:// URL');
  assert.not.match(url, 'hunter2');
  writeFileSync(file, '{}\n');
  const fromEnv = refusal(() => loadConfig({ env: { ...env, RAIBID_REDIS_URL: 'localhost:6379' }, cwd }));
  assert.match(fromEnv, 'RAIBID_REDIS_URL: not a redis:// or rediss:// URL');
  assert.not.match(
    refusal(() => loadConfig({ env: { ...env, RAIBID_REDIS_URL: 'redis//:hunter2@x' }, cwd })),
    'hunter2',
  );
  assert.is(loadConfig({ env: { ...env, RAIBID_REDIS_URL: 'rediss://:pw@redis.local:6380' }, cwd }).config.redis.url, 'rediss://:pw@redis.local:6380');
});

test('RAIBID_SECRETS naming a directory is a clear error', () => {
  const { root, cwd, env } = world();
  assert.match(
    refusal(() => loadConfig({ env: { ...env, RAIBID_SECRETS: root }, cwd })),
    `${root}: not a file (RAIBID_SECRETS names the secrets file itself)`,
  );
});

test('a config in the current folder is used only when it is yours and nobody else may write to it', () => {
  const { cwd, env } = world();
  const file = join(cwd, 'raibid.config.yaml');
  writeFileSync(file, 'redis:\n  url: redis://planted:6379\n');
  chmodSync(file, 0o666);
  assert.match(
    refusal(() => loadConfig({ env, cwd })),
    `${file}: others may write to it (mode 0666); not used`,
  );
  chmodSync(file, 0o644);
  chownSync(file, 4242, 4242);
  assert.match(
    refusal(() => loadConfig({ env, cwd })),
    `${file}: belongs to uid 4242, not to you`,
  );
  assert.is(loadConfig({ env, cwd, file }).config.redis.url, 'redis://planted:6379', 'named with --config, it is trusted');
  chownSync(file, process.getuid!(), process.getgid!());
  assert.is(loadConfig({ env, cwd }).config.redis.url, 'redis://planted:6379');
});

test.run();
