#!/usr/bin/env node
import { runProcessCli } from '../lib/cli.js';
import { TASKS } from '../tasks/index.js';

runProcessCli(TASKS);
