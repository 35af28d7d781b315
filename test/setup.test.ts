import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { CLI, runCli } from './fixtures/cli.js';
import { type FakeGitHub, startFakeGitHub } from './fixtures/fake-github.js';
import { freePort } from './fixtures/ports.js';
import { until } from './fixtures/wait.js';
import { type SshHost, startSshd } from './fixtures/sshd.js';

const test = suite('setup: the wizard, flags and env');
let dir: string;
let github: FakeGitHub;
let sshd: SshHost;
let home = 0;

/** A fresh config home for each test: where setup writes config.yaml and secrets.env. */
function world(initial?: Record<string, unknown>) {
  const configHome = join(dir, `home-${home++}`);
  mkdirSync(join(configHome, 'raibid'), { recursive: true });
  if (initial) writeFileSync(join(configHome, 'raibid', 'config.yaml'), stringify(initial));
  return {
    env: { XDG_CONFIG_HOME: configHome, RAIBID_CONFIG: undefined, RAIBID_SECRETS: undefined, GITHUB_TOKEN: undefined, RAIBID_HOST: undefined },
    config: join(configHome, 'raibid', 'config.yaml'),
    secrets: join(configHome, 'raibid', 'secrets.env'),
  };
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-setup-'));
  [github, sshd] = await Promise.all([startFakeGitHub(), startSshd()]);
});
test.after(async () => {
  await Promise.all([github.close(), sshd.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

test('--yes with answers missing lists them all in one error and writes nothing', async () => {
  const w = world();
  const result = await runCli(['setup', '--yes'], { env: w.env });
  assert.is(result.code, 2);
  assert.match(result.stderr, 'setup --yes: missing DGX Spark address (host name or IP; localhost: this machine, no SSH) (--host or RAIBID_HOST)');
  assert.not.ok(existsSync(w.config));
  const piped = await runCli(['setup'], { env: w.env });
  assert.is(piped.code, 2);
  assert.match(piped.stderr, 'no terminal to ask at');
});

test('answers from flags and env make a valid config (0600); a re-run starts from it', async () => {
  const w = world();
  const first = await runCli(['setup', '--yes', '--skip-checks', '--nodes', '10.0.0.2, 10.0.0.3', '--mirror-orgs', 'acme:^api-,octo', '--agents-max', '12'], {
    env: { ...w.env, RAIBID_HOST: 'spark.lan' },
  });
  assert.is(first.code, 0, first.stderr);
  assert.is(statSync(w.config).mode & 0o777, 0o600);
  const written = parse(readFileSync(w.config, 'utf8'));
  assert.equal(written.host, { address: 'spark.lan' });
  assert.equal(written.nodes, [{ address: '10.0.0.2' }, { address: '10.0.0.3' }]);
  assert.equal(written.mirror.orgs, [{ name: 'acme', include: '^api-' }, { name: 'octo' }]);
  assert.is(written.agents.max, 12);
  const again = await runCli(['setup', '--yes', '--skip-checks', '--agent-memory', '8Gi'], { env: w.env });
  assert.is(again.code, 0, again.stderr);
  const kept = parse(readFileSync(w.config, 'utf8'));
  assert.equal([kept.host.address, kept.agents.max, kept.agents.memory, kept.nodes.length], ['spark.lan', 12, '8Gi', 2]);
});

test('a config in the current directory, which the other tasks would read, is the one setup edits', async () => {
  const w = world({ host: { address: 'spark.lan' } });
  const cwd = realpathSync(mkdtempSync(join(dir, 'cwd-')));
  writeFileSync(join(cwd, 'raibid.config.yaml'), stringify({ host: { address: 'here.lan' } }), { mode: 0o600 });
  const result = await runCli(['setup', '--yes', '--skip-checks', '--agents-max', '3'], { env: w.env, cwd });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, `config written: ${join(cwd, 'raibid.config.yaml')} (from the current directory)`);
  assert.equal(parse(readFileSync(join(cwd, 'raibid.config.yaml'), 'utf8')).agents.max, 3);
  assert.is(parse(readFileSync(w.config, 'utf8')).agents, undefined, "the user's default config is left alone");
});

test('a bad answer exits 2 naming the key, and the config stays as it was', async () => {
  const w = world({ host: { address: 'spark.lan' } });
  const before = readFileSync(w.config, 'utf8');
  const result = await runCli(['setup', '--yes', '--skip-checks', '--agents-max', 'many'], { env: w.env });
  assert.is(result.code, 2);
  assert.match(result.stderr, 'agents.max');
  assert.is(readFileSync(w.config, 'utf8'), before);
});

test('the GitHub token is checked, kept in secrets.env (0600), never printed; a refused one writes nothing', async () => {
  const w = world({ host: { address: 'spark.lan' }, github: { apiUrl: github.url } });
  const result = await runCli(['setup', '--yes', '--skip-checks'], { env: { ...w.env, GITHUB_TOKEN: github.token } });
  assert.is(result.code, 0, result.stderr);
  assert.is(result.code, 0);
  assert.ok(existsSync(w.secrets));
  // --skip-checks leaves the GitHub check out too, yet keeps the token
  assert.is(readFileSync(w.secrets, 'utf8'), `GITHUB_TOKEN=${github.token}\n`);
  assert.is(statSync(w.secrets).mode & 0o777, 0o600);
  const bad = world({ host: { address: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile }, github: { apiUrl: github.url } });
  const refused = await runCli(['setup', '--yes'], { env: { ...bad.env, GITHUB_TOKEN: 'ghp_wrong' } });
  assert.is(refused.code, 2);
  assert.match(refused.stderr, 'GitHub refused the token');
  assert.not.ok(existsSync(bad.secrets));
  assert.not.match(result.stdout + refused.stdout + refused.stderr, github.token);
});

test("with checks: the token's owner is shown and the SSH login is tried, showing the host key", async () => {
  const w = world({
    host: { address: sshd.address, port: sshd.port, user: sshd.user, identityFile: sshd.identityFile },
    ssh: { configFile: sshd.configFile, knownHostsFile: join(dir, 'known_hosts') },
    github: { apiUrl: github.url },
  });
  github.addRepo({ owner: 'acme', name: 'api-one' });
  github.addRepo({ owner: 'acme', name: 'web' });
  const result = await runCli(['setup', '--yes', '--mirror-orgs', 'acme:^api-'], { env: { ...w.env, GITHUB_TOKEN: github.token } });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, 'GitHub: token of fixture-user');
  assert.match(result.stdout, 'mirror: 1 repositories match: acme/api-one');
  assert.match(result.stdout, new RegExp(`ssh: ${sshd.user}@127\\.0\\.0\\.1:${sshd.port} logged in, host key SHA256:`));
  const down = world({ host: { address: '127.0.0.1', port: 1 }, ssh: { connectTimeoutSeconds: 2, knownHostsFile: join(dir, 'kh2') } });
  const unreachable = await runCli(['setup', '--yes'], { env: down.env });
  // a network failure is a warning naming the host and the cause; the answers are written
  assert.is(unreachable.code, 0, unreachable.stderr);
  assert.match(unreachable.stderr, /warning: ssh: cannot log in to ubuntu@127\.0\.0\.1:1: .*unreachable/);
  assert.ok(existsSync(down.config));
  // a GitHub App installation token has no /user, and no x-oauth-scopes either
  const app = world({ host: { address: 'localhost' }, github: { apiUrl: github.url } });
  const installation = await runCli(['setup', '--yes', '--mirror-orgs', 'acme:^api-'], { env: { ...app.env, GITHUB_TOKEN: github.appToken } });
  assert.is(installation.code, 0, installation.stderr);
  assert.match(installation.stdout, 'GitHub: token of a GitHub App installation (permissions per installation)');
  assert.match(installation.stdout, 'mirror: 1 repositories match');
  // localhost: this machine, no SSH login; how it gets root is checked instead
  const here = world({ host: { address: 'localhost' }, github: { apiUrl: github.url } });
  const local = await runCli(['setup', '--yes'], { env: { ...here.env, GITHUB_TOKEN: github.token } });
  assert.is(local.code, 0, local.stderr);
  assert.match(local.stdout, /host: this machine: (root|sudo -n)/);
  assert.not.match(local.stdout, 'ssh:');
});

test('at a terminal it asks each question from the current values, and shows the host key to accept', async () => {
  const w = world({
    host: { address: sshd.address, port: sshd.port, user: sshd.user, identityFile: sshd.identityFile },
    ssh: { configFile: sshd.configFile, knownHostsFile: join(dir, 'known_hosts_pty') },
    agents: { max: 4 },
  });
  const terminal = onTerminal(w.env);
  const answers: [string, string][] = [
    ['DGX Spark address', ''],
    ['SSH user', ''],
    ['SSH port', ''],
    ['SSH private key', ''],
    ['worker nodes', '10.0.0.9'],
    ['k3s version', ''],
    ['Gitea URL', ''],
    ['repositories to mirror', 'octocat/hello-world'],
    ['whole organisations', ''],
    ['most agents at once', ''],
    ['CPU per agent', ''],
    ['memory per agent', ''],
    ['public URL', ''],
    ['GitHub token', ''],
    ['Accept it?', 'yes'],
  ];
  for (const [prompt, answer] of answers) {
    await terminal.waitFor(prompt);
    // the next prompt only after this one took the answer
    await terminal.type(`${answer}\r`);
  }
  const code = await terminal.closed;
  const screen = terminal.screen();
  assert.is(code, 0, screen);
  assert.match(screen, String(sshd.port), 'the current values were offered');
  assert.match(screen, /offers host key SHA256:\S+ \((ED25519|ECDSA|RSA)\)/);
  assert.match(screen, /logged in, host key SHA256:/);
  const written = parse(readFileSync(w.config, 'utf8'));
  assert.equal(
    [written.host.port, written.agents.max, written.nodes, written.mirror.repos],
    [sshd.port, 4, [{ address: '10.0.0.9' }], ['octocat/hello-world']],
  );
});

test('a bad answer from a flag or env is refused naming it, as the config would be (numbers, owner/name, regexes); nothing written', async () => {
  const w = world();
  const cases: [string[], string][] = [
    [['--agents-max', 'lots'], "--agents-max 'lots': agents.max:"],
    [['--mirror-repos', 'not-a-repo'], "--mirror-repos 'not-a-repo': mirror.repos.0: 'not-a-repo' is not owner/name"],
    [['--mirror-orgs', 'acme:(['], "--mirror-orgs 'acme:([': mirror.orgs.0.include"],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(['setup', '--yes', '--skip-checks', ...args], { env: { ...w.env, RAIBID_HOST: 'spark.lan' } });
    assert.is(result.code, 2, args.join(' '));
    assert.match(result.stderr, message);
    assert.is(result.stderr.trim().split('\n').length, 2, 'one line and a hint');
  }
  assert.not.ok(existsSync(w.config));
});

/** setup on a real pseudo-terminal (script(1)), with what it shows and a way to answer. */
function onTerminal(env: NodeJS.ProcessEnv) {
  const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} setup`, '/dev/null'], {
    env: { ...process.env, ...env, TERM: 'xterm', NO_COLOR: '1' } as NodeJS.ProcessEnv,
  });
  let screen = '';
  child.stdout.on('data', (d) => (screen += d));
  const waitFor = (text: string, from = 0) =>
    until(
      async () => screen.slice(from).includes(text),
      () => `"${text}"; screen:\n${screen}`,
    );
  const type = async (text: string) => {
    const mark = screen.length;
    child.stdin.write(text);
    await until(
      async () => screen.length > mark,
      () => `the echo of ${JSON.stringify(text)}; screen:\n${screen}`,
    );
    return mark;
  };
  const closed = new Promise<number | null>((r) => child.on('close', r));
  return { screen: () => screen, waitFor, type, closed };
}

test('at a terminal: a wrong answer is asked again, defaults are shown, Ctrl-C exits 130 keeping the answers, and the next setup goes on from them', async () => {
  const w = world();
  const userHome = join(dir, `user-${home++}`);
  const env = { ...w.env, HOME: userHome, XDG_STATE_HOME: join(userHome, 'state') };
  const closedPort = await freePort();
  const first = onTerminal(env);
  await first.waitFor('DGX Spark address');
  await first.type('127.0.0.1\r');
  await first.waitFor('SSH user');
  assert.match(first.screen(), '[default ubuntu]');
  await first.type('\r');
  await first.waitFor('SSH port');
  const asked = await first.type('lots\r');
  await first.waitFor('host.port:', asked);
  await first.type('\x7f\x7f\x7f\x7f');
  await first.type(`${closedPort}\r`);
  await first.waitFor('SSH private key');
  await first.type('\x03');
  assert.is(await first.closed, 130, first.screen());
  assert.match(first.screen(), 'your answers are kept in');
  assert.not.match(first.screen(), /\n\s+at /, 'no stack trace');
  const draft = join(userHome, 'state', 'raibid', 'setup-draft.yaml');
  assert.is(statSync(draft).mode & 0o777, 0o600);
  assert.equal(parse(readFileSync(draft, 'utf8')).host, { address: '127.0.0.1', port: closedPort });
  assert.not.ok(existsSync(w.config));

  const second = onTerminal(env);
  await second.waitFor('go on from the answers');
  await second.type('\r');
  for (const prompt of [
    'DGX Spark address',
    'SSH user',
    'SSH port',
    'SSH private key',
    'worker nodes',
    'k3s version',
    'Gitea URL',
    'repositories to mirror',
    'whole organisations',
    'most agents',
    'CPU per agent',
    'memory per agent',
    'public URL',
    'GitHub token',
  ]) {
    await second.waitFor(prompt);
    await second.type('\r');
  }
  assert.is(await second.closed, 0, second.screen());
  assert.match(second.screen(), `warning: ssh: cannot log in to ubuntu@127.0.0.1:${closedPort}`);
  assert.equal(parse(readFileSync(w.config, 'utf8')).host, { address: '127.0.0.1', port: closedPort });
  assert.not.ok(existsSync(draft), 'a finished setup leaves no draft');
  assert.is(statSync(join(userHome, '.ssh')).mode & 0o777, 0o700, '~/.ssh made for the host key');
  const check = await runCli(['status', '--json'], { env: { ...env, RAIBID_REDIS_URL: 'redis://127.0.0.1:1' } });
  assert.match(check.stderr, 'cannot reach Redis at redis://127.0.0.1:1', `the written config passes every task's validation: ${check.stderr}`);
});

test("the README's first command: run on the sample crate from a fresh clone passes", async () => {
  const sample = mkdtempSync(join(dir, 'sample-'));
  for (const file of ['Cargo.toml', 'src/lib.rs']) {
    mkdirSync(join(sample, file, '..'), { recursive: true });
    writeFileSync(join(sample, file), readFileSync(new URL(`../../examples/hello-crate/${file}`, import.meta.url)));
  }
  const result = await runCli(['run', sample], { env: { XDG_CACHE_HOME: join(dir, 'cache'), RAIBID_CONFIG: undefined } });
  assert.is(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, 'test tests::greets ... ok');
  assert.match(result.stdout, 'passed: 3 steps');
});

test.run();
