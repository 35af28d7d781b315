import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { hasControlCharacters, printable } from '../ui/format.js';
import { checkLocalRef, findLocalRepo } from './local-repo.js';
import { JOB_DIR_META } from './names.js';
import type { JobInput } from './queue.js';

const REMOTE_URL = /^(https?|ssh|git|file):\/\/[^\s]+$/;
const SCP_LIKE = /^[\w.-]+@[\w.-]+:[^\s]+$/;
const SHA = /^([0-9a-f]{7,40}|[0-9a-f]{64})$/;

/** The rules of git check-ref-format that matter for a ref given on the command line. */
export function isValidRef(ref: string): boolean {
  return (
    ref.length > 0 &&
    ref.length <= 255 &&
    !ref.startsWith('-') &&
    !ref.startsWith('/') &&
    !ref.endsWith('/') &&
    !ref.endsWith('.') &&
    !ref.endsWith('.lock') &&
    !ref.includes('..') &&
    !ref.includes('//') &&
    !ref.includes('@{') &&
    // eslint-disable-next-line no-control-regex
    !/[\x00-\x20\x7f~^:?*[\\]/.test(ref)
  );
}

/** A relative path that stays inside the checkout: no `..`, not absolute, no empty parts. */
export function isSafeSubdir(dir: string): boolean {
  return dir === '' || (!dir.startsWith('/') && dir.split('/').every((part) => part !== '' && part !== '.' && part !== '..') && !hasControlCharacters(dir));
}

/**
 * Checks a dispatch's repo, ref and sha. A local path must be a git repository or a folder in
 * one, where the ref (or sha) names a commit that holds the folder: the job builds the
 * repository with the folder as the pipeline's working dir (`meta.dir`).
 */
export function validateJobInput(input: JobInput, cwd: string): JobInput {
  const repo = input.repo.trim();
  if (hasControlCharacters(repo))
    throw new UserError(`--repo '${printable(input.repo)}' has control characters`, { hint: 'give the clone URL or path as it is, without escape sequences' });
  if (!isValidRef(input.ref)) {
    throw new UserError(`--ref '${printable(input.ref)}' is not a valid git ref`, { hint: 'give a branch, tag or refs/… name' });
  }
  if (input.sha !== undefined && !SHA.test(input.sha)) {
    throw new UserError(`--sha '${printable(input.sha)}' is not a commit hash`, { hint: 'give 7 to 40 lowercase hex digits' });
  }
  if (REMOTE_URL.test(repo) || SCP_LIKE.test(repo)) return { ...input, repo };
  const path = resolve(cwd, repo);
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new UserError(`--repo '${printable(input.repo)}' is neither a clone URL nor a local directory`, {
      hint: 'give a clone URL (https://…, ssh://…, git@host:owner/repo) or the path of a local repository',
    });
  }
  const local = findLocalRepo(path, input.repo);
  checkLocalRef(local, input.ref, input.sha);
  const meta = local.dir ? { ...input.meta, [JOB_DIR_META]: local.dir } : input.meta;
  return { ...input, repo: local.root, ...(meta ? { meta } : {}) };
}
