import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { UserError } from '../errors.js';
import { printable } from '../ui/format.js';

export interface LocalRepo {
  /** The repository's top folder: what the agent clones. */
  root: string;
  /** The folder given, inside the repository ('' for the top): the pipeline's working dir. */
  dir: string;
}

function git(cwd: string, ...args: string[]): { ok: boolean; out: string } {
  const result = spawnSync('git', ['-C', cwd, ...args], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' } });
  return { ok: result.status === 0, out: (result.stdout ?? '').trim() };
}

/** The repository a local folder is, or is in; anything else is refused, naming the path. */
export function findLocalRepo(path: string, given: string): LocalRepo {
  const top = git(path, 'rev-parse', '--show-toplevel');
  if (!top.ok || !top.out) {
    throw new UserError(`--repo '${printable(given)}' is not a git repository, nor a folder in one`, {
      hint: `an agent clones what it builds: run \`git init && git add -A && git commit -m init\` in it, or give a clone URL`,
    });
  }
  const root = realpathSync(top.out);
  return { root, dir: relative(root, realpathSync(path)).split(sep).join('/') };
}

/**
 * The commit `ref` (or `sha`) names in the repository, checked before anything is queued: an
 * agent can build only what is committed, so the working dir must be in that commit too.
 */
export function checkLocalRef(repo: LocalRepo, ref: string, sha: string | undefined): string {
  const wanted = sha ?? ref;
  const commit = git(repo.root, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${wanted}^{commit}`);
  if (!commit.ok) {
    const branches = git(repo.root, 'for-each-ref', '--count=5', '--format=%(refname:short)', 'refs/heads').out.split('\n').filter(Boolean);
    const what = sha ? `--sha '${printable(sha)}'` : `--ref '${printable(ref)}'`;
    throw new UserError(`${what} is not a commit in ${printable(repo.root)}`, {
      hint: branches.length
        ? `its branches: ${branches.join(', ')} (git -C ${printable(repo.root)} branch -a lists all)`
        : 'the repository has no commit yet: commit first',
    });
  }
  if (repo.dir && !git(repo.root, 'cat-file', '-e', `${commit.out}:${repo.dir}`).ok) {
    throw new UserError(`${printable(repo.dir)} is not in ${printable(wanted)} of ${printable(repo.root)}`, {
      hint: 'an agent builds what is committed: commit the folder first',
    });
  }
  return commit.out;
}
