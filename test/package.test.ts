import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeQueue } from './fixtures/queue.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';

const run = promisify(execFile);
const test = suite('the npm package: packed, installed into an empty project, imported with its types');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
let dir: string;
let project: string;
let redis: RedisServer;

const USE = `import { openFarm, type JobView, type Snapshot } from 'raibid-task';

const farm = openFarm();
const { id, created } = await farm.dispatch({ repo: 'https://git.example/acme/api.git', ref: 'main' });
const job: JobView | undefined = await farm.job(id);
const status: Snapshot = await farm.status({ jobs: 5 });
console.log(JSON.stringify({ id, created, state: job?.state, waiting: status.queue.lag }));
await farm.close();
`;

const MISUSE = `import { openFarm } from 'raibid-task';

await openFarm().dispatch({ repository: 'https://git.example/acme/api.git' });
`;

async function typecheck(file: string): Promise<{ code: number; output: string }> {
  const args = [
    TSC,
    '--noEmit',
    '--strict',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2023',
    '--skipLibCheck',
    '--typeRoots',
    join(ROOT, 'node_modules/@types'),
    '--types',
    'node',
    file,
  ];
  return run(process.execPath, args, { cwd: project }).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
  );
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-package-'));
  project = join(dir, 'project');
  mkdirSync(project);
  redis = await startRedis();
  // npm test built it a moment ago: prepack's type-checking build is not run twice
  await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // the registry's packages from npm's cache (npm ci filled it); nothing of this clone's node_modules
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(dir, tarball)], { cwd: project });
});
test.after(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a script imports raibid-task with types, and its dispatch queues a job in Redis', async () => {
  writeFileSync(join(project, 'use.ts'), USE);
  const checked = await typecheck('use.ts');
  assert.is(checked.code, 0, checked.output);
  writeFileSync(join(project, 'use.mjs'), USE.replace(', type JobView, type Snapshot', '').replace(': JobView | undefined', '').replace(': Snapshot', ''));
  const env = { ...process.env, RAIBID_REDIS_URL: redis.url, XDG_CONFIG_HOME: join(dir, 'config'), RAIBID_CONFIG: '' };
  const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: project, env });
  const printed = JSON.parse(stdout);
  assert.equal({ created: printed.created, state: printed.state, waiting: printed.waiting }, { created: true, state: 'queued', waiting: 1 });
  const queued = await makeQueue(redis.client()).get(printed.id);
  assert.is(queued?.repo, 'https://git.example/acme/api.git');
});

test('the types catch a wrong option name', async () => {
  writeFileSync(join(project, 'misuse.ts'), MISUSE);
  const checked = await typecheck('misuse.ts');
  assert.is.not(checked.code, 0);
  assert.match(checked.output, "'repository' does not exist in type 'DispatchOptions'");
});

test('the CLI comes with it', async () => {
  const { stdout } = await run(join(project, 'node_modules/.bin/raibid-task'), ['--help'], { cwd: project });
  assert.match(stdout, 'dispatch');
});

test.run();
