import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('fresh-clone');
const project = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'raibid-clone-'));
const clone = join(work, 'raibid-task');

test.after(() => rmSync(work, { recursive: true, force: true }));

// npm ci would fetch and unpack every package again (40 s): the clone borrows this checkout's
// node_modules and runs the lifecycle script npm ci runs after installing, the root's `prepare`.
test('a fresh clone has a working CLI once its install scripts ran: npx raibid-task --help', () => {
  execFileSync('git', ['clone', '-q', '--no-hardlinks', project, clone]);
  assert.not.ok(existsSync(join(clone, 'dist')), 'nothing built is committed');
  symlinkSync(join(project, 'node_modules'), join(clone, 'node_modules'));
  const env = { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false' };
  const prepared = spawnSync('npm', ['run', '--silent', 'prepare'], { cwd: clone, env, encoding: 'utf8' });
  assert.is(prepared.status, 0, prepared.stderr);
  const help = spawnSync('npx', ['--offline', 'raibid-task', '--help'], { cwd: clone, env, encoding: 'utf8' });
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: raibid-task <task>/);
  assert.match(help.stdout, /\n {2}up\s/, 'the local farm is listed');
  const render = spawnSync(process.execPath, ['dist/bin/raibid-task.js', 'render', '--only', 'agents'], {
    cwd: clone,
    env: { ...env, HOME: work },
    encoding: 'utf8',
  });
  assert.is(render.status, 0, `render needs the agents' bundle, which prepare builds: ${render.stderr}`);
  const dispatch = spawnSync(process.execPath, ['dist/bin/raibid-task.js', 'dispatch', '--repo', 'examples/hello-crate', '--dry-run'], {
    cwd: clone,
    env: { ...env, HOME: work },
    encoding: 'utf8',
  });
  assert.is(dispatch.status, 0, dispatch.stderr);
  assert.match(dispatch.stdout, /^would queue .*raibid-task at HEAD in examples\/hello-crate$/m);
});

test.run();
