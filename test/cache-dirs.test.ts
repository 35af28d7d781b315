import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from './fixtures/cli.js';

const test = suite('cache folders that are not ours are refused');
let dir: string;
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-cache-dirs-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

// the agent checks its cache before it reaches for Redis (nothing listens on port 9)
const agent = (cache: string) =>
  runCli(['agent', '--once', '--max-idle', '0'], { env: { RAIBID_CACHE_DIR: cache, RAIBID_REDIS_URL: 'redis://127.0.0.1:9', HOME: dir } });

test("world-writable, a symlink, or somebody else's: exit 2 naming the folder, nothing run", async () => {
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const writable = await agent(open);
  assert.is(writable.code, 2);
  assert.match(writable.stderr, `${open}: others may write to it (mode 0777); not used for the build cache`);
  const link = join(dir, 'link');
  const target = join(dir, 'target');
  mkdirSync(target, { mode: 0o700 });
  symlinkSync(target, link);
  const linked = await agent(link);
  assert.is(linked.code, 2);
  assert.match(linked.stderr, `${link}: is a symlink; not used for the build cache`);
  const theirs = join(dir, 'theirs');
  mkdirSync(theirs, { mode: 0o755 });
  chownSync(theirs, 4242, 4242);
  const other = await agent(theirs);
  assert.is(other.code, 2);
  assert.match(other.stderr, `${theirs}: belongs to uid 4242, not to you`);
});

test.run();
