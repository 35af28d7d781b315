import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CheckoutError, checkout } from '../lib/agent/checkout.js';
import { commitFiles, git } from './fixtures/git.js';

const test = suite('checkout: a job’s commit into its working copy (real git)');
let dir: string;
let repo: string;
let sha: string;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-checkout-'));
  repo = join(dir, 'source');
  sha = commitFiles(repo, { 'README.md': 'hello\n' });
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const into = (name: string, at: string | undefined) => checkout({ repo, ref: 'refs/heads/main', sha: at, dir: join(dir, name), signal: AbortSignal.timeout(30_000), log: () => {} });

test('the commit is checked out, detached, with its files', async () => {
  assert.equal(await into('work', sha), { sha });
  assert.ok(existsSync(join(dir, 'work', 'README.md')));
  assert.is(git(join(dir, 'work'), 'rev-parse', '--abbrev-ref', 'HEAD'), 'HEAD');
});

test('a commit that looks like an option is taken as a revision, never as an option to git', async () => {
  try {
    await into('evil', '--orphan=evil');
    assert.unreachable('no such revision');
  } catch (error) {
    assert.instance(error, CheckoutError);
    assert.match((error as Error).message, /cannot check out --orphan=evil: fatal: invalid reference: --orphan=evil/);
  }
  assert.not.match(git(join(dir, 'evil'), 'branch', '--list'), 'evil', 'no branch was made');
});

test.run();
