#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runProcessCli } from '../lib/cli.js';
import { TASKS } from '../tasks/index.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
runProcessCli(TASKS, version);
