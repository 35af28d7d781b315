import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isValidRef } from '../queue/validate.js';
import type { BuildUser } from './build-user.js';
import { runProcess } from './process.js';

export interface CheckoutInput {
  repo: string;
  ref: string;
  sha?: string;
  dir: string;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Git runs as this user, with this environment (no secrets: stepEnvironment). */
  user?: BuildUser;
  env?: NodeJS.ProcessEnv;
  /** A header git sends to URLs under `url` only (the farm's Gitea), from its environment. */
  credential?: { url: string; header: string };
}

export class CheckoutError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

// a commit a mirror does not have yet ("not our ref", "unadvertised object") may arrive with its
// next sync: that is retried; a ref or repository that is not there is not
const PERMANENT = /couldn't find remote ref|does not appear to be a git repository|Repository not found|not a valid object name/i;
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/true', LC_ALL: 'C' };

/**
 * git's config for the credential, in the environment (never argv, which anyone may read in
 * /proc, nor a file): `http.<url>.extraHeader` is sent only to URLs under that prefix, and only
 * when the repository is one, so a job for another host never makes git offer it.
 */
function credentialEnv(input: CheckoutInput): Record<string, string> {
  const { credential } = input;
  if (!credential || !input.repo.startsWith(credential.url)) return {};
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${credential.url}.extraHeader`, GIT_CONFIG_VALUE_0: credential.header };
}

async function git(args: string[], input: CheckoutInput): Promise<{ exitCode: number; output: string[] }> {
  const output: string[] = [];
  const { exitCode } = await runProcess('git', args, {
    env: { ...(input.env ?? process.env), ...GIT_ENV, ...credentialEnv(input) },
    user: input.user,
    signal: input.signal,
    onLine: (line) => {
      output.push(line);
      input.log(line);
    },
  });
  return { exitCode, output };
}

/**
 * Puts `repo` at `sha` (or at `ref`) into `dir`, fetching only that commit where the server
 * allows it. A working copy left by an earlier build is reused and reset to exactly the
 * commit's content, untracked and ignored files removed. Every value travels as its own
 * argument: nothing is parsed by a shell.
 */
export async function checkout(input: CheckoutInput): Promise<{ sha: string }> {
  const reused = existsSync(join(input.dir, '.git'));
  try {
    return await checkoutInto(input);
  } catch (error) {
    if (!reused || input.signal.aborted) throw error;
    input.log(`the cached working copy failed (${(error as Error).message}); starting from an empty one`);
    rmSync(input.dir, { recursive: true, force: true });
    return checkoutInto(input);
  }
}

async function checkoutInto(input: CheckoutInput): Promise<{ sha: string }> {
  if (input.repo.startsWith('-') || !isValidRef(input.ref)) {
    throw new CheckoutError(`refusing to fetch ${JSON.stringify(input.repo)} at ${JSON.stringify(input.ref)}`, false);
  }
  const inDir = (...args: string[]) => ['-C', input.dir, ...args];
  const fail = (what: string, output: string[]) => {
    const reason = output.filter((l) => /fatal|error/i.test(l)).at(-1) ?? output.at(-1) ?? 'no output';
    return new CheckoutError(`${what}: ${reason}`, !PERMANENT.test(output.join('\n')));
  };
  if ((await git(['init', '-q', input.dir], input)).exitCode !== 0) throw new CheckoutError('git init failed', true);
  if (input.user && !/^[a-z][a-z0-9+.-]*:/i.test(input.repo)) {
    // a local repository of the agent's user is one git calls dubious to the build user; git reads
    // the exception only from a global config (the build's HOME), not from -c on a local fetch
    await git(['config', '--global', '--unset-all', 'safe.directory'], { ...input, log: () => {} });
    for (const path of [input.repo, `${input.repo.replace(/\/+$/, '')}/.git`]) await git(['config', '--global', '--add', 'safe.directory', path], input);
  }
  const shallow = await git(inDir('fetch', '-q', '--depth', '1', '--no-tags', '--', input.repo, input.sha ?? input.ref), input);
  if (shallow.exitCode !== 0) {
    if (!input.sha) throw fail(`cannot fetch ${input.ref}`, shallow.output);
    const full = await git(inDir('fetch', '-q', '--no-tags', '--', input.repo, input.ref), input);
    if (full.exitCode !== 0) throw fail(`cannot fetch ${input.ref}`, full.output);
  }
  const target = input.sha ?? 'FETCH_HEAD';
  const switched = await git(inDir('switch', '-q', '--discard-changes', '--detach', '--end-of-options', target), input);
  if (switched.exitCode !== 0) throw fail(`cannot check out ${target}`, switched.output);
  const cleaned = await git(inDir('clean', '-q', '-ffdx'), input);
  if (cleaned.exitCode !== 0) throw fail('cannot clean the working copy', cleaned.output);
  const head = await git(inDir('rev-parse', 'HEAD'), { ...input, log: () => {} });
  return { sha: head.output[0] ?? '' };
}
