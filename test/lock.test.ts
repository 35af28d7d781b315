import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tryLock } from '../lib/lock.js';
import { exited } from './fixtures/cli.js';
import { processAlive, until } from './fixtures/wait.js';

const test = suite('locks the kernel holds (flock)');
const LOCK = new URL('../lib/lock.js', import.meta.url).href;
let dir: string;
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-lock-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A process that tries the lock, says whether it got it, and holds it for `holdMs`. */
function racer(path: string, holdMs: number): ChildProcess {
  const script = `const { tryLock } = await import(${JSON.stringify(LOCK)}); const l = tryLock(${JSON.stringify(path)}); console.log('fd' in l ? 'got' : 'held'); setTimeout(() => {}, ${holdMs});`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}
const said = (child: ChildProcess) => new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));

test('sixteen processes racing for one lock: exactly one gets it', async () => {
  const path = join(dir, 'race.lock');
  const racers = Array.from({ length: 16 }, () => racer(path, 1500));
  const answers = await Promise.all(racers.map(said));
  assert.is(answers.filter((a) => a === 'got').length, 1, answers.join(' '));
  await Promise.all(racers.map((r) => exited(r)));
});

test('a holder killed with -9 leaves the lock free at once; a stale pid in the file blocks nothing', async () => {
  const path = join(dir, 'killed.lock');
  const holder = racer(path, 60_000);
  assert.is(await said(holder), 'got');
  const held = tryLock(path);
  assert.equal(held, { heldBy: holder.pid });
  holder.kill('SIGKILL');
  await exited(holder);
  const taken = tryLock(path);
  assert.ok('fd' in taken, 'free once its holder is gone');
  taken.release();
  // a pid that lives (this one) written by a process long gone: the old pid-file lock waited on it
  writeFileSync(path, `${process.pid}\n`);
  const again = tryLock(path);
  assert.ok('fd' in again);
  again.release();
});

test('a child handed the lock holds it after its parent lets go, until it ends too', async () => {
  const path = join(dir, 'handed.lock');
  const lock = tryLock(path);
  if (!('fd' in lock)) throw new Error('not taken');
  const child = spawn('sleep', ['60'], { stdio: ['ignore', 'ignore', 'ignore', lock.fd] });
  lock.release();
  assert.ok('heldBy' in tryLock(path), 'held while the child lives');
  child.kill('SIGKILL');
  await exited(child);
  await until(async () => !processAlive(child.pid!), 'the child to end');
  const taken = tryLock(path);
  assert.ok('fd' in taken);
  taken.release();
});

test.run();
