#!/usr/bin/env node
// Runs each uvu suite in a process of its own, as many at a time as there are CPUs (or
// RAIBID_TEST_JOBS), the slowest first: as last measured here, else the largest. Prints each
// suite's output once it ends, then one plain line: "N passed, N failed, N skipped". A suite still
// running after RAIBID_SUITE_TIMEOUT_S seconds (300) is killed with what it started, and fails.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const uvu = `${root}node_modules/uvu/bin.js`;
const timesFile = `${root}node_modules/.cache/raibid-test-times.json`;
const only = process.argv[2] ? new RegExp(process.argv[2]) : undefined;
const jobs = Number(process.env.RAIBID_TEST_JOBS) || availableParallelism();
const suiteTimeoutMs = (Number(process.env.RAIBID_SUITE_TIMEOUT_S) || 300) * 1000;

const readTimes = () => {
  try {
    return JSON.parse(readFileSync(timesFile, 'utf8'));
  } catch {
    return {};
  }
};
const lastTimes = readTimes();
const found = readdirSync(`${root}dist/test`).filter((f) => f.endsWith('.test.js') && (!only || only.test(f)));
const measured = found.every((f) => f in lastTimes);
const weight = (f) => (measured ? lastTimes[f] : statSync(`${root}dist/test/${f}`).size);
const suites = found.sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));

// eslint-disable-next-line no-control-regex
const plain = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');
const count = (text, label) => Number(plain(text).match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? 0);

function runSuite(file) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [uvu, 'dist/test', `^${file.replace(/\./g, '\\.')}$`], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      // a process group of its own: a hung suite goes with the servers it started
      detached: true,
    });
    let output = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid, 'SIGKILL');
    }, suiteTimeoutMs);
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) output += `\nkilled after ${suiteTimeoutMs / 1000} s: the suite had not ended (RAIBID_SUITE_TIMEOUT_S)\n`;
      const total = count(output, 'Total');
      const passed = count(output, 'Passed');
      const skipped = count(output, 'Skipped');
      const failed = Math.max(0, total - passed - skipped) || (code === 0 ? 0 : Math.max(1, total - passed));
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(`\n── ${file} (${seconds.toFixed(1)} s)\n${output}`);
      resolve({ file, passed, failed, skipped, seconds });
    });
  });
}

const queue = [...suites];
const results = [];
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    while (queue.length > 0) results.push(await runSuite(queue.shift()));
  }),
);

mkdirSync(`${root}node_modules/.cache`, { recursive: true });
writeFileSync(timesFile, JSON.stringify({ ...lastTimes, ...Object.fromEntries(results.map((r) => [r.file, r.seconds])) }));
const sum = (key) => results.reduce((n, r) => n + r[key], 0);
const failedSuites = results.filter((r) => r.failed > 0).map((r) => r.file);
if (failedSuites.length > 0) process.stdout.write(`\nfailed in: ${failedSuites.join(', ')}\n`);
process.stdout.write(`\n${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped\n`);
process.exitCode = sum('failed') === 0 && results.length > 0 ? 0 : 1;
