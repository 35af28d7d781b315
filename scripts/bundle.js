#!/usr/bin/env node
// Bundles what cluster pods run (tasks/pod.ts) into one CommonJS file: node runs it with no
// node_modules beside it, and it fits a ConfigMap. Printed: the path and its size.
import { build } from 'esbuild';
import { statSync } from 'node:fs';

const outfile = 'dist/bundle/raibid-pod.cjs';
await build({
  entryPoints: ['bin/raibid-pod.ts'],
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
