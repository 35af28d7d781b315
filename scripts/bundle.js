#!/usr/bin/env node
// Bundles the CLI into one CommonJS file for agent and webhook pods: node runs it with no
// node_modules beside it. Printed: the path and its size.
import { build } from 'esbuild';
import { statSync } from 'node:fs';

const outfile = 'dist/bundle/raibid-task.cjs';
await build({
  entryPoints: ['bin/raibid-task.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
console.log(JSON.stringify({ bundle: outfile, bytes: statSync(outfile).size }));
