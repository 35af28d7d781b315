import type { StdioOptions } from 'node:child_process';
import { $ } from 'zx/core';
import { quote } from './shell.js';

/**
 * zx's `$` for the workstation's own commands (ssh, ssh-keyscan, crontab, git): on /bin/sh, as
 * zx would otherwise start bash, with its words quoted for sh (zx's quote is bash's `$'…'`) and
 * sh replaced by the command (`exec`: one process, not two); it never throws on an exit code and
 * echoes nothing. A command reads end-of-file on stdin unless given `input` (withInput): zx would
 * leave it open, and one that reads it would wait for good. Pods never load it.
 */
export const sh = $({
  shell: '/bin/sh',
  prefix: 'exec ',
  postfix: '',
  quote,
  nothrow: true,
  quiet: true,
  verbose: false,
  stdio: ['ignore', 'pipe', 'pipe'],
});

const PIPED: StdioOptions = ['pipe', 'pipe', 'pipe'];

/** The options that give a command `input` on its stdin; none (end-of-file) when it is empty. */
export const withInput = (input: string | Buffer | undefined) => (input === undefined || input.length === 0 ? {} : { input, stdio: PIPED });

/** The exit code sh gives a command it cannot find. */
export const NOT_FOUND = 127;
