import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stateAfter, stateAsGitea } from '../lib/mirror/state.js';

const test = suite('mirror state: what the last clean run left in Gitea');

test('a name with a slash in it comes back whole, under its owner', () => {
  const source = { owner: 'acme', name: 'tools/cli', private: false, fork: false, archived: false, pushedAt: '2026-11-30T10:00:00Z', cloneUrl: 'https://github.com/acme/tools', defaultBranch: 'main' };
  const state = stateAfter([{ source, org: 'acme', via: 'repos' }], [], 480, 0);
  assert.equal(
    stateAsGitea(state, ['acme']).repos.map((r) => [r.owner, r.name, r.mirrorUpdated]),
    [['acme', 'tools/cli', '2026-11-30T10:00:00Z']],
  );
});

test.run();
