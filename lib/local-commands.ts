import { $ } from 'zx/core';
import { quote } from './shell.js';

/**
 * zx's `$` for the workstation's own commands (ssh, ssh-keyscan, crontab, git): on /bin/sh, as
 * zx would otherwise start bash, with its words quoted for sh (zx's quote is bash's `$'…'`); it
 * never throws on an exit code and echoes nothing. Pods never load it.
 */
export const sh = $({ shell: '/bin/sh', prefix: '', postfix: '', quote, nothrow: true, quiet: true, verbose: false });

/** The exit code sh gives a command it cannot find. */
export const NOT_FOUND = 127;
