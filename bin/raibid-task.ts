#!/usr/bin/env node
import { main, reportError } from '../lib/cli.js';
import { TASKS } from '../tasks/index.js';

const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };

main(process.argv.slice(2), io, TASKS)
  .catch((error: unknown) => reportError(error, io))
  .then((code) => {
    process.exitCode = code;
    // A task closes what it opened; this only bounds a straggling socket's grace period.
    setTimeout(() => process.exit(code), 1000).unref();
  });
