#!/usr/bin/env node
// The CLI as `npm ci` leaves it (the prepare script): bin, tasks and lib transpiled to dist/ file
// by file in a second, without type-checking; `npm run build` (tsc) type-checks and emits the same files.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const sources = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [join(dir, entry.name)] : [],
  );

const entryPoints = ['bin', 'tasks', 'lib'].flatMap(sources);
await build({ entryPoints, outdir: 'dist', outbase: '.', platform: 'node', format: 'esm', target: 'node20', sourcemap: true, logLevel: 'warning' });
console.log(JSON.stringify({ built: 'dist', files: entryPoints.length }));
