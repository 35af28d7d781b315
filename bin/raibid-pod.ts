#!/usr/bin/env node
import { runProcessCli } from '../lib/cli.js';
import { POD_TASKS } from '../tasks/pod.js';

runProcessCli(POD_TASKS);
