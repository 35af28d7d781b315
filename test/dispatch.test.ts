import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLines, runCli } from './fixtures/cli.js';
import { commitFiles } from './fixtures/git.js';

const test = suite('dispatch: a local path');
const work = realpathSync(mkdtempSync(join(tmpdir(), 'raibid-dispatch-')));
const env = { XDG_STATE_HOME: join(work, 'state'), XDG_CONFIG_HOME: join(work, 'config'), RAIBID_CONFIG: undefined, RAIBID_REDIS_URL: undefined };
const repo = join(work, 'repo');
const sha = commitFiles(repo, { 'crates/hello/Cargo.toml': '[package]\nname = "hello"\n' });

test.after(() => rmSync(work, { recursive: true, force: true }));

function oneLine(stderr: string): string {
  const lines = errorLines(stderr);
  assert.is(lines.length, 2, `an error and a hint:\n${stderr}`);
  assert.match(lines[1]!, /^ {2}hint: /);
  return lines[0]!;
}

test('a folder that is no git repository, an unknown ref or sha, an uncommitted folder: exit 2 at dispatch, naming it', async () => {
  const plain = join(work, 'plain');
  mkdirSync(plain);
  const notGit = await runCli(['dispatch', '--repo', plain], { env });
  assert.is(notGit.code, 2);
  assert.match(oneLine(notGit.stderr), `--repo '${plain}' is not a git repository, nor a folder in one`);
  const ref = await runCli(['dispatch', '--repo', repo, '--ref', 'no-such-branch'], { env });
  assert.is(ref.code, 2);
  assert.match(oneLine(ref.stderr), `--ref 'no-such-branch' is not a commit in ${repo}`);
  assert.match(ref.stderr, 'its branches: main');
  const unknownSha = await runCli(['dispatch', '--repo', repo, '--sha', 'abcdef1234'], { env });
  assert.is(unknownSha.code, 2);
  assert.match(oneLine(unknownSha.stderr), "--sha 'abcdef1234' is not a commit");
  mkdirSync(join(repo, 'new-folder'));
  writeFileSync(join(repo, 'new-folder', 'Cargo.toml'), '');
  const uncommitted = await runCli(['dispatch', '--repo', join(repo, 'new-folder')], { env });
  assert.is(uncommitted.code, 2);
  assert.match(oneLine(uncommitted.stderr), 'new-folder is not in HEAD');
});

test('a folder in a repository: the repository, with the folder as the working dir', async () => {
  const folder = await runCli(['dispatch', '--repo', 'crates/hello', '--dry-run', '--json'], { env, cwd: repo });
  assert.is(folder.code, 0, folder.stderr);
  assert.equal(JSON.parse(folder.stdout), { dryRun: true, action: 'enqueue', repo, ref: 'HEAD', sha: null, dir: 'crates/hello' });
  assert.match(folder.stderr, 'crates/hello is a folder of');
  const top = await runCli(['dispatch', '--repo', repo, '--ref', 'main', '--sha', sha.slice(0, 10), '--dry-run'], { env });
  assert.is(top.code, 0, top.stderr);
  assert.is(top.stdout.trim(), `would queue ${repo} at main (${sha.slice(0, 10)})`);
});

test.run();
