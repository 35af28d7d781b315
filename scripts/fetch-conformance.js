#!/usr/bin/env node
// The conformance tier's upstream artifacts at the versions raibid-task pins, for a user with
// internet: the four charts (from their Helm repositories, checked against the index's digest),
// k3s' install.sh at the pinned tag (checked against that tag's install.sh.sha256sum) and,
// given --gitea <url> of a running Gitea of the pinned version, its swagger.v1.json.
// Usage: npm run build && node scripts/fetch-conformance.js [--out dir] [--gitea url]
// then:  RAIBID_CONFORMANCE_DIR=<dir> npm test
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string' }, gitea: { type: 'string' } } });
const out = resolve(values.out ?? join(root, '.cache', 'conformance'));
const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const sums = [];

async function get(url) {
  const response = await fetch(url).catch((error) => {
    throw new Error(`${url}: ${error.cause?.message ?? error.message}`);
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

function save(path, data) {
  const file = join(out, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  sums.push(`${sha256(data)}  ${path}`);
  process.stdout.write(`${relative(root, file) || file}\n`);
}

async function chart({ repo, chart: name, version }) {
  const index = parse((await get(new URL('index.yaml', repo.endsWith('/') ? repo : `${repo}/`))).toString('utf8'));
  const entry = (index.entries?.[name] ?? []).find((e) => e.version === version);
  if (!entry) throw new Error(`${repo}: no ${name} ${version} in its index`);
  const data = await get(new URL(entry.urls[0], repo.endsWith('/') ? repo : `${repo}/`));
  if (entry.digest && sha256(data) !== entry.digest) throw new Error(`${name}-${version}.tgz: digest differs from the index`);
  save(`charts/${name}-${version}.tgz`, data);
}

async function installer(tag) {
  const base = `https://raw.githubusercontent.com/k3s-io/k3s/${encodeURIComponent(tag)}`;
  const script = await get(`${base}/install.sh`);
  const expected = (await get(`${base}/install.sh.sha256sum`)).toString('utf8').split(/\s+/)[0];
  if (sha256(script) !== expected) throw new Error(`install.sh at ${tag}: checksum differs from install.sh.sha256sum`);
  save('k3s/install.sh', script);
}

let pins;
try {
  pins = {
    charts: (await import(join(root, 'dist/lib/platform/charts.js'))).CHART_PINS,
    k3s: (await import(join(root, 'dist/lib/config.js'))).parseConfig({}, 'defaults').k3s.version,
  };
} catch {
  process.stderr.write('fetch-conformance: the pins are read from dist/: run `npm run build` first\n');
  process.exit(2);
}
try {
  for (const pin of Object.values(pins.charts)) await chart(pin);
  await installer(pins.k3s);
  if (values.gitea) save('gitea/swagger.v1.json', await get(new URL('/swagger.v1.json', values.gitea)));
  writeFileSync(join(out, 'SHA256SUMS'), `${sums.join('\n')}\n`);
  process.stdout.write(`\nRAIBID_CONFORMANCE_DIR=${out} npm test\n`);
} catch (error) {
  process.stderr.write(`fetch-conformance: ${error.message}\n`);
  process.exit(1);
}
