import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type CliResult, collect, errorLines, runCli, spawnCli } from './fixtures/cli.js';
import { freePort } from './fixtures/ports.js';

const test = suite('a newcomer: error paths, help, config and completion');
const home = mkdtempSync(join(tmpdir(), 'raibid-newcomer-'));
const env = {
  HOME: home,
  XDG_CONFIG_HOME: join(home, '.config'),
  RAIBID_CONFIG: undefined,
  RAIBID_REDIS_URL: undefined,
  GITEA_TOKEN: undefined,
  GITHUB_TOKEN: undefined,
  KUBECONFIG: undefined,
};
const example = fileURLToPath(new URL('../../config/raibid.config.example.yaml', import.meta.url));
const withoutKubeClient = fileURLToPath(new URL('./fixtures/register-without-kube-client.js', import.meta.url));

test.after(() => rmSync(home, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const path = join(home, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** The CLI with its stdout pipe closed before it writes, as `raibid-task … | head -1` once head is gone. */
function readerGone(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawnCli(args, { env: { ...env, ...extra } });
  child.stdout!.destroy();
  return collect(child);
}

test('a closed pipe ends the output quietly: no EPIPE stack trace, exit 0', async () => {
  const result = await readerGone(['render', '--only', 'platform']);
  assert.is(result.stderr, '');
  assert.is(result.code, 0);
});

test('typos in flags and actions get "did you mean"; help <task>; -V/--version is listed and works', async () => {
  const [flag, action, helpTask, main, version] = await Promise.all([
    runCli(['status', '--jsn'], { env }),
    runCli(['jobs', 'lsit'], { env }),
    runCli(['help', 'dispatch'], { env }),
    runCli(['--help'], { env }),
    runCli(['-V'], { env }),
  ]);
  assert.is(flag.code, 2);
  assert.equal(errorLines(flag.stderr), ["raibid-task: status: Unknown option '--jsn'", '  hint: did you mean --json? See `raibid-task status --help`']);
  assert.is(action.code, 2);
  assert.equal(errorLines(action.stderr), [
    "raibid-task: jobs: unknown action 'lsit'",
    '  hint: did you mean `raibid-task jobs list`? use one of: list, show, cancel, retry',
  ]);
  assert.is(helpTask.code, 0);
  assert.match(helpTask.stdout, /^raibid-task dispatch — /);
  assert.match(helpTask.stdout, '--repo <clone-url|path>');
  assert.match(main.stdout, /-V, --version\s+print the version/);
  assert.match(main.stdout, '`raibid-task help <task>`');
  const { version: expected } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.is(version.stdout, `${expected}\n`);
});

test('a negative number is refused naming the value, with a hint, exit 2', async () => {
  const limit = await runCli(['jobs', 'list', '--limit', '-3'], { env });
  assert.is(limit.code, 2);
  assert.equal(errorLines(limit.stderr), ["raibid-task: jobs: --limit '-3' is not a whole number from 1 to 10000", '  hint: see `raibid-task jobs --help`']);
});

test('kubeconfig names itself in its errors; teardown --dry-run says it could not look at the cluster; mirror cron install --dry-run prints the line without crontab', async () => {
  const config = configFile('plain.yaml', 'k3s:\n  context: raibid\n');
  const noCrontab = mkdtempSync(join(home, 'path-'));
  const [kubeconfig, teardown, cron] = await Promise.all([
    runCli(['kubeconfig', '--config', config], { env }),
    runCli(['teardown', '--dry-run', '--keep-data', '--config', config], { env }),
    runCli(['mirror', 'cron', 'install', '--dry-run', '--config', config], { env: { ...env, PATH: noCrontab } }),
  ]);
  assert.is(kubeconfig.code, 2);
  assert.match(errorLines(kubeconfig.stderr).at(-2)!, 'raibid-task: kubeconfig: no host in the config');
  assert.is(teardown.code, 0, teardown.stderr);
  assert.match(
    teardown.stdout,
    `could not look at the cluster (no kubeconfig at ${join(home, '.kube', 'config')}): listing everything teardown would try to delete`,
  );
  assert.match(teardown.stdout, 'would delete ScaledJob raibid/raibid-agent');
  assert.is(cron.code, 0, cron.stderr);
  assert.match(cron.stdout, 'would add this line to the crontab (crontab is not installed here):');
  assert.match(cron.stdout, new RegExp(`^\\*/15 \\* \\* \\* \\* .*mirror sync --config ${config} >> .*mirror-sync\\.log 2>&1 # raibid-task mirror sync$`, 'm'));
});

test('doctor leads with setup, or with bootstrap when the host has no k3s; an unreachable Gitea is named with the cause; no hint needs kubectl', async () => {
  const [redisPort, giteaPort] = await Promise.all([freePort(), freePort()]);
  const redis = { RAIBID_REDIS_URL: `redis://127.0.0.1:${redisPort}` };
  // this machine as the host, as `host.address: localhost` runs it: as root or through sudo -n
  const config = configFile('gitea.yaml', `host:\n  address: localhost\ngitea:\n  url: http://127.0.0.1:${giteaPort}\n`);
  const [fresh, configured] = await Promise.all([
    runCli(['doctor'], { env: { ...env, ...redis } }),
    runCli(['doctor', '--json', '--config', config], { env: { ...env, ...redis, GITEA_TOKEN: 'gitea-secret-token' } }),
  ]);
  assert.is(fresh.code, 1);
  assert.match(fresh.stdout.split('\n')[0]!, /^nothing is set up yet: run `raibid-task setup`/);
  const report = JSON.parse(configured.stdout) as { next?: string; checks: { name: string; ok: boolean; detail: string; hint?: string }[] };
  const here = report.checks.find((c) => c.name === 'localhost: ssh and sudo')!;
  if (!here.ok) console.log(`  no root here (${here.detail}): the bootstrap lead is not checked`);
  else if (here.detail === 'k3s not installed') {
    assert.match(report.next ?? '', /^the farm is not installed yet: run `raibid-task bootstrap`/);
    assert.equal(
      report.checks.find((c) => c.name === 'localhost: k3s service'),
      { name: 'localhost: k3s service', ok: false, detail: 'k3s not installed', hint: 'raibid-task bootstrap' },
    );
  }
  const gitea = report.checks.find((c) => c.name === 'Gitea API and token')!;
  assert.is(gitea.detail, `cannot reach 127.0.0.1:${giteaPort}: connect ECONNREFUSED 127.0.0.1:${giteaPort}`);
  assert.is(gitea.hint, 'is Gitea up at that address? (gitea.url)');
  assert.not.match(fresh.stdout + configured.stdout, 'kubectl');
  assert.not.match(configured.stdout, 'gitea-secret-token');
});

test('a server that cannot be reached is named with the cause, for GitHub and Gitea alike', async () => {
  const port = await freePort();
  const { GitHubClient } = await import('../lib/github/client.js');
  const { GiteaClient } = await import('../lib/gitea/client.js');
  const refused = `cannot reach 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`;
  const github = await new GitHubClient(`http://127.0.0.1:${port}`, 'ghp-secret', undefined, 1).get('GET /user').catch((e: Error) => e);
  assert.is((github as Error).message, refused);
  const gitea = await new GiteaClient(`http://127.0.0.1:${port}`, { token: 'gitea-secret' }).call('GET /version').catch((e: Error) => e);
  assert.is((gitea as Error).message, refused);
});

test('the example config works as a copy; config show masks secrets and names its file; config validate lists each problem, exit 2', async () => {
  const copy = join(mkdtempSync(join(home, 'copy-')), 'raibid.config.yaml');
  copyFileSync(example, copy);
  const bad = configFile('bad.yaml', 'redis:\n  url: redis://x\n  pasword: hunter2\nqueue:\n  maxAttempts: lots\nagents:\n  max: 0\n');
  const secret = configFile('secret.yaml', 'gitea:\n  url: http://admin:hunter2@gitea.lan\n');
  const [valid, show, invalid] = await Promise.all([
    runCli(['config', 'validate', copy], { env }),
    runCli(['config', 'show', '--config', secret], { env: { ...env, GITEA_TOKEN: 'tok-123', RAIBID_REDIS_URL: 'redis://:pw-from-env@127.0.0.1:7000' } }),
    runCli(['config', 'validate', '--config', bad], { env }),
  ]);
  assert.is(valid.code, 0, valid.stderr);
  assert.is(valid.stdout, `${copy}: valid\n`);
  assert.is(show.code, 0, show.stderr);
  assert.equal(show.stdout.split('\n').slice(0, 2), [`# from ${secret}`, '# redis.url from RAIBID_REDIS_URL']);
  assert.match(show.stdout, 'url: http://admin:***@gitea.lan');
  assert.match(show.stdout, 'url: redis://:***@127.0.0.1:7000');
  assert.match(show.stdout, /#\s+GITEA_TOKEN\s+set, from the environment/);
  assert.match(show.stdout, /#\s+GITHUB_TOKEN\s+not set/);
  assert.match(show.stdout, 'maxAttempts: 3', 'defaults filled in');
  assert.not.match(show.stdout, /hunter2|tok-123|pw-from-env/);
  assert.is(invalid.code, 2);
  assert.equal(errorLines(invalid.stderr), [
    `raibid-task: ${bad}: redis.pasword: unknown key`,
    `raibid-task: ${bad}: queue.maxAttempts: Invalid input: expected number, received string`,
    `raibid-task: ${bad}: agents.max: Too small: expected number to be >=1`,
    '  hint: see config/raibid.config.example.yaml for every key and its type',
  ]);
  assert.not.match(invalid.stderr, 'hunter2');
});

test("completion: bash completes tasks, actions, flags and their values from the CLI's own definitions; zsh and fish scripts parse", async () => {
  const [bash, zsh, fish, dispatchHelp] = await Promise.all([
    runCli(['completion', 'bash'], { env }),
    runCli(['completion', 'zsh'], { env }),
    runCli(['completion', 'fish'], { env }),
    runCli(['dispatch', '--help'], { env }),
  ]);
  assert.is(bash.code, 0, bash.stderr);
  const script = join(home, 'completion.bash');
  writeFileSync(script, bash.stdout);
  const cases: [string[], string][] = [
    [['st'], 'status'],
    [['jobs', ''], 'list show cancel retry'],
    [['jobs', 'list', '--st'], '--state'],
    [['jobs', 'list', '--state', 'r'], 'running'],
    [['jobs', '--limit', '3', 's'], 'show'],
    [['status', '--interval', ''], ''],
    [['render', '--only', ''], 'platform flux agents'],
    [['help', 'do'], 'doctor'],
    [['config', ''], 'show validate'],
    [['completion', 'f'], 'fish'],
    [['--v'], '--version'],
  ];
  const probe = cases
    .map(
      ([words]) =>
        `COMP_WORDS=(raibid-task ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; COMPREPLY=(); _raibid_task; echo "\${COMPREPLY[*]}"`,
    )
    .join('\n');
  const replies = spawnSync('bash', ['-c', `source ${script}\n${probe}`], { encoding: 'utf8' });
  assert.is(replies.stderr, '');
  assert.equal(
    replies.stdout.split('\n').slice(0, cases.length),
    cases.map(([, expected]) => expected),
  );
  const dispatchFlags = spawnSync(
    'bash',
    ['-c', `source ${script}; COMP_WORDS=(raibid-task dispatch --); COMP_CWORD=2; _raibid_task; echo "\${COMPREPLY[*]}"`],
    { encoding: 'utf8' },
  )
    .stdout.trim()
    .split(' ');
  assert.equal(
    dispatchFlags.filter((f) => f.startsWith('--')).sort(),
    [...dispatchHelp.stdout.matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]).sort(),
    'the same flags as --help',
  );
  for (const [shell, output] of [
    ['zsh', zsh],
    ['fish', fish],
  ] as const) {
    assert.is(output.code, 0, output.stderr);
    if (spawnSync(shell, ['--version']).error) {
      console.log(`  ${shell} is not installed: its completion script is not parsed`);
      continue;
    }
    const file = join(home, `completion.${shell}`);
    writeFileSync(file, output.stdout);
    const parsed = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
    assert.is(parsed.status, 0, `${shell} -n: ${parsed.stderr}`);
  }
  if (!spawnSync('fish', ['--version']).error) {
    const file = join(home, 'completion.fish');
    const offered = spawnSync('fish', ['-c', `source ${file}; complete -C 'raibid-task jobs list --state '`], { encoding: 'utf8' }).stdout;
    assert.equal(
      offered
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0])
        .sort(),
      ['cancelled', 'dead', 'failed', 'queued', 'running', 'succeeded'],
    );
  }
});

test('--help of the heavy tasks loads no Kubernetes client', async () => {
  const blocked = { ...env, NODE_OPTIONS: `--import=${withoutKubeClient}` };
  const helps = await Promise.all(['bootstrap', 'doctor', 'teardown', 'kubeconfig'].map((name) => runCli([name, '--help'], { env: blocked })));
  for (const help of helps) {
    assert.is(help.code, 0, help.stderr);
    assert.match(help.stdout, /^raibid-task \w+ — /);
  }
  const control = spawnSync(process.execPath, ['--import', withoutKubeClient, '--input-type=module', '-e', "await import('@kubernetes/client-node')"], {
    encoding: 'utf8',
  });
  assert.match(control.stderr, '@kubernetes/client-node was loaded', 'the hook does keep it out');
});

test.run();
