#!/usr/bin/env node
// Runs the uvu suites and ends with one plain summary line: "N passed, N failed, N skipped".
import { spawn } from 'node:child_process';

const uvu = new URL('../node_modules/uvu/bin.js', import.meta.url).pathname;
const child = spawn(process.execPath, [uvu, 'dist/test', '\\.test\\.js$', ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.on('close', (code) => {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (label) => Number(plain.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? 0);
  const total = count('Total');
  const passed = count('Passed');
  const skipped = count('Skipped');
  const failed = Math.max(0, total - passed - skipped) || (code === 0 ? 0 : Math.max(1, total - passed));
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  process.exitCode = code === 0 && failed === 0 && total > 0 ? 0 : 1;
});
