import { LocalSession, isLocalAddress } from '../lib/local.js';
import { RemoteHost } from '../lib/k3s/remote.js';
import { homedir } from 'node:os';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Config, configDir, findConfigFile, parseConfig, secretsFile } from '../lib/config.js';
import { GitHubApiError, GitHubClient } from '../lib/github/client.js';
import { compileRules } from '../lib/mirror/select.js';
import { listSources } from '../lib/mirror/sources.js';
import { UserError, failure } from '../lib/errors.js';
import type { BooleanOption, OptionSpecs, StringOption } from '../lib/options.js';
import { expandHome } from '../lib/paths.js';
import { sh, withInput } from '../lib/local-commands.js';
import {
  QUESTIONS,
  type Question,
  answerProblem,
  applyAnswer,
  checkConfig,
  defaultShown,
  draftFile,
  readDraft,
  readRaw,
  removeDraft,
  requireAnswers,
  saveDraft,
  shown,
  writeConfig,
  writeSecret,
} from '../lib/setup.js';
import { sshSession } from '../lib/ssh.js';
import { type TaskInput, configPathLabel, defineTask, print } from '../lib/task.js';
import { printable } from '../lib/ui/format.js';
import { PromptCancelled, ask } from '../lib/ui/prompt.js';

/** A question's flag; an empty answer is one too (`--key ''`: no key file). */
const answerOption = (q: Question): StringOption => ({ kind: 'string', value: 'value', description: `${q.message} ($${q.env})`, allowEmpty: true });
const options: { yes: BooleanOption; 'skip-checks': BooleanOption } & OptionSpecs = {
  yes: { kind: 'boolean', short: 'y', description: 'ask nothing: flags, env and the current config only' },
  'skip-checks': { kind: 'boolean', description: 'do not try the SSH login and the GitHub token' },
  ...Object.fromEntries(QUESTIONS.map((q) => [q.flag, answerOption(q)])),
};
type Input = TaskInput<typeof options>;

/** The token's owner and scopes, as GitHub reports them; a refused token is bad input. */
async function checkGitHubToken(apiUrl: string, token: string): Promise<string> {
  try {
    const { data, headers } = await new GitHubClient(apiUrl, token).get('GET /user');
    const scopes = headers['x-oauth-scopes'];
    return `token of ${data.login}${scopes === undefined ? ' (fine-grained: permissions per repository)' : `, scopes: ${scopes || 'none'}`}`;
  } catch (error) {
    if (!(error instanceof GitHubApiError)) throw error;
    // an installation token acts as the app, which has no /user
    if (error.status === 403 && /not accessible by integration/i.test(error.message))
      return 'token of a GitHub App installation (permissions per installation)';
    if (error.status === 401)
      throw new UserError('setup: GitHub refused the token (401 Bad credentials)', {
        hint: 'make a new one: GitHub → Settings → Developer settings → Personal access tokens',
      });
    throw failure(`setup: ${error.message}`);
  }
}

/** What the mirror answers select on GitHub right now. */
async function matchingRepos(config: Config, token: string): Promise<string> {
  const rules = compileRules(config.mirror);
  if (rules.repos.length === 0 && rules.owners.length === 0) return 'nothing selected yet (mirror.repos, mirror.orgs)';
  const { selected, problems } = await listSources(new GitHubClient(config.github.apiUrl, token), rules, token);
  const names = selected.map((s) => `${s.source.owner}/${s.source.name}`);
  const shownNames = names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length - 10} more)` : '');
  return `${names.length} repositories match${names.length ? `: ${shownNames}` : ''}${problems.length ? `; ${problems.join('; ')}` : ''}`;
}

async function knownFingerprint(name: string, knownHosts: string): Promise<string | undefined> {
  const found = await sh`ssh-keygen -l -F ${name} -f ${knownHosts}`;
  return found.exitCode === 0 ? found.stdout.match(/SHA256:\S+/)?.[0] : undefined;
}

/** The host's keys as it offers them now (ssh-keyscan), as fingerprints. */
async function offeredFingerprints(address: string, port: number): Promise<string[]> {
  const keys = await sh`ssh-keyscan -T 5 -p ${port} ${address}`;
  if (keys.exitCode !== 0 || keys.stdout === '') return [];
  const listed = await sh(withInput(keys.stdout))`ssh-keygen -l -f -`;
  return [...listed.stdout.matchAll(/(SHA256:\S+).*\((\w+)\)/g)].map((m) => `${m[1]} (${m[2]})`);
}

/**
 * Logs in as bootstrap will. A host not yet in known_hosts shows its key first; at a terminal the
 * user accepts it (with --yes it is accepted, as `accept-new` would).
 */
async function checkSsh(raw: Record<string, unknown>, interactive: boolean): Promise<string> {
  const config = parseConfig(raw, 'setup');
  const host = config.host!;
  if (isLocalAddress(host.address)) return `this machine: ${await new RemoteHost(new LocalSession()).rootVia()}`;
  const knownHosts = config.ssh.knownHostsFile ? expandHome(config.ssh.knownHostsFile) : join(homedir(), '.ssh', 'known_hosts');
  // ssh saves an accepted host key only into a folder that is there
  mkdirSync(dirname(knownHosts), { recursive: true, mode: 0o700 });
  const name = host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
  if (interactive && !(await knownFingerprint(name, knownHosts))) {
    const offered = await offeredFingerprints(host.address, host.port);
    if (offered.length > 0) {
      const answer = await ask({ name: 'hostkey', message: `${host.address}:${host.port} offers host key ${offered.join(', ')}. Accept it? (yes/no)` });
      if (!/^y(es)?$/i.test(answer))
        throw new UserError(`setup: host key of ${host.address} not accepted; nothing written`, {
          hint: 'compare it with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on the host',
        });
    }
  }
  const session = sshSession({ ...config, ssh: { ...config.ssh, knownHostsFile: knownHosts } }, host);
  try {
    await session.run(['true']);
  } finally {
    await session.close();
  }
  const fingerprint = await knownFingerprint(name, knownHosts);
  return `${host.user}@${host.address}:${host.port} logged in${fingerprint ? `, host key ${fingerprint}` : ''}`;
}

export default defineTask({
  summary: 'ask for (or take from flags and env) what the farm needs, and write the config',
  usage: [
    'setup [--yes] [--skip-checks] [--host <address>] [--user <u>] [--port <n>] [--key <file>] [--nodes <a,b>] [--k3s-version <v>] [--gitea-url <url>] [--mirror-repos <o/r,…>] [--mirror-orgs <org[:regex],…>] [--agents-max <n>] [--agent-cpu <c>] [--agent-memory <m>] [--webhook-url <url>]',
  ],
  details:
    'At a terminal it asks each question, starting from the current config; every answer can also\n' +
    `come from its flag or env variable (${QUESTIONS.map((q) => q.env).join(', ')}).\n` +
    '--yes asks nothing and lists every missing answer in one error. GITHUB_TOKEN (or the prompt)\n' +
    'is checked against GitHub and kept in secrets.env (mode 0600) beside the config, never in it.\n' +
    'Each answer is checked as the config will be and asked again when wrong; answers given before\n' +
    'a failure or Ctrl-C are kept (a draft in ~/.local/state/raibid) and offered next time.\n' +
    'The SSH login and the token are tried before the config is written (--skip-checks leaves them\n' +
    'out); a host or GitHub that cannot be reached is a warning naming it and the cause.',
  options,
  async run(input) {
    const { io } = input;
    const env = io.env;
    // the file every other task would read (./raibid.config.yaml included), else the user's default
    const named = input.configFile ?? env.RAIBID_CONFIG;
    const path = named ? resolve(named) : (findConfigFile(undefined, env, process.cwd()) ?? join(configDir(env), 'config.yaml'));
    const { yes } = input.options;
    const interactive = !yes && Boolean(io.stdout.isTTY && process.stdin.isTTY);
    if (!yes && !interactive)
      throw new UserError('setup: no terminal to ask at', { hint: 'pass --yes with the answers as flags or env (see `raibid-task setup --help`)' });
    let raw = readRaw(path);
    let typed = false;
    try {
      const draft = interactive ? readDraft(env) : undefined;
      if (
        draft &&
        /^y(es)?$/i.test(
          await ask({ name: 'draft', message: `go on from the answers of the setup that did not finish (${draftFile(env)})? (yes/no)`, initial: 'yes' }),
        )
      )
        raw = draft;
      for (const q of QUESTIONS) {
        const given = input.options[q.flag] ?? env[q.env];
        if (typeof given === 'string') {
          const problem = answerProblem(raw, q, given);
          if (problem)
            throw new UserError(`setup: ${input.options[q.flag] === undefined ? q.env : `--${q.flag}`} '${printable(given)}': ${problem}`, {
              hint: `see \`raibid-task setup --help\``,
            });
          applyAnswer(raw, q, given);
        } else if (interactive) {
          const fallback = defaultShown(q);
          const text = await ask({
            name: q.flag,
            message: `${q.message}${fallback ? ` [default ${fallback}]` : ''}`,
            initial: shown(q, raw),
            validate: (value) => answerProblem(raw, q, value),
          });
          applyAnswer(raw, q, text);
          typed = true;
        }
      }
      if (yes) requireAnswers(raw);
      checkConfig(path, raw);
      const token =
        env.GITHUB_TOKEN || (interactive ? await ask({ name: 'token', message: 'GitHub token (empty: keep the current one or none)', secret: true }) : '');
      await runChecks(input, raw, token, interactive);
      writeConfig(path, raw);
      removeDraft(env);
      print(io, `config written: ${configPathLabel(path, dirname(path) === process.cwd())}`);
      if (token) {
        const secretsPath = secretsFile(env);
        writeSecret(secretsPath, 'GITHUB_TOKEN', token);
        print(io, `GitHub token kept in ${secretsPath} (mode 0600)`);
      }
      print(io, 'next: raibid-task bootstrap');
      return 0;
    } catch (error) {
      if (typed) io.stderr.write(`raibid-task: setup: your answers are kept in ${saveDraft(env, raw)}; the next setup offers them\n`);
      if (error instanceof PromptCancelled) return 130;
      throw error;
    }
  },
});

/** The GitHub token and the login, tried as bootstrap and mirror will; what cannot be reached is a warning, not a stop. */
async function runChecks(input: Input, raw: Record<string, unknown>, token: string, interactive: boolean): Promise<void> {
  if (input.options['skip-checks']) return;
  const { io } = input;
  const config = parseConfig(raw, 'setup');
  if (token) {
    const host = new URL(config.github.apiUrl).host;
    try {
      print(io, `GitHub: ${await checkGitHubToken(config.github.apiUrl, token)}`);
      print(io, `mirror: ${await matchingRepos(config, token)}`);
    } catch (error) {
      if (error instanceof UserError && error.exitCode === 2) throw error;
      io.stderr.write(`raibid-task: warning: GitHub at ${host} not reached, token not checked: ${networkCause(error).replace(/^setup: /, '')}\n`);
    }
  }
  const label = isLocalAddress(config.host!.address) ? 'host' : 'ssh';
  try {
    print(io, `${label}: ${await checkSsh(raw, interactive)}`);
  } catch (error) {
    if (error instanceof UserError && error.exitCode === 2) throw error;
    if (error instanceof PromptCancelled) throw error;
    const { user, address, port } = config.host!;
    io.stderr.write(`raibid-task: warning: ${label}: cannot log in to ${user}@${address}:${port}: ${networkCause(error)}; fix it before bootstrap\n`);
  }
}

/** The innermost reason of a failed request (fetch wraps ECONNREFUSED and ENOTFOUND in its `cause`). */
function networkCause(error: unknown): string {
  let inner = error as { message?: string; code?: string; cause?: unknown };
  while (inner.cause && typeof inner.cause === 'object') inner = inner.cause as typeof inner;
  return [inner.code, inner.message].filter(Boolean).join(': ').split('\n')[0] || String(error);
}
