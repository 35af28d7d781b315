import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readState, stateAfter, stateAsGitea, writeState } from '../lib/mirror/state.js';

const test = suite('mirror state: what the last clean run left in Gitea');

test('a name with a slash in it comes back whole, under its owner', () => {
  const source = {
    owner: 'acme',
    name: 'tools/cli',
    private: false,
    fork: false,
    archived: false,
    pushedAt: '2026-11-30T10:00:00Z',
    cloneUrl: 'https://github.com/acme/tools',
    defaultBranch: 'main',
  };
  const state = stateAfter([{ source, org: 'acme', via: 'repos' }], [], 480, 0);
  assert.equal(
    stateAsGitea(state, ['acme']).repos.map((r) => [r.owner, r.name, r.mirrorUpdated]),
    [['acme', 'tools/cli', '2026-11-30T10:00:00Z']],
  );
});

test('written through a temp file of its own: a symlink planted at a name one could guess is not followed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'raibid-state-'));
  const file = join(dir, 'mirror-state.json');
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'untouched\n');
  for (const guess of [`${file}.tmp`, `${file}.${process.pid}.tmp`]) symlinkSync(victim, guess);
  writeState(file, { intervalMinutes: 480, checkedAt: 1, mirrors: {} });
  assert.is(readFileSync(victim, 'utf8'), 'untouched\n');
  assert.equal(readState(file), { intervalMinutes: 480, checkedAt: 1, mirrors: {} });
  assert.is(statSync(file).mode & 0o777, 0o600);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
