import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bootstrapTasks } from '../lib/bootstrap.js';
import { parseConfig } from '../lib/config.js';
import { UserError, failure } from '../lib/errors.js';
import { type Step, runSteps } from '../lib/steps.js';

const test = suite('steps as plain records, run as a listr2 list');
const STEPS = new URL('../lib/steps.js', import.meta.url).href;
const LISTR = import.meta.resolve('listr2');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Log {
  ran: string[];
}
const step = (title: string, outcome?: string, ms = 0): Step<Log> => ({
  title,
  run: async (log) => {
    await sleep(ms);
    log.ran.push(title);
    return outcome;
  },
});
const failing = (title: string, error: Error, ms = 0): Step<Log> => ({
  title,
  run: async (log) => {
    await sleep(ms);
    log.ran.push(title);
    throw error;
  },
});

test('steps run in order, children after their parent; each outcome is its closing title, else its title', async () => {
  const log: Log = { ran: [] };
  const outcomes = await runSteps(
    [
      step('One', 'One: done'),
      { title: (l: Log) => `Two (${l.ran.length} before)`, children: [step('Two a'), step('Two b')] },
      { title: 'Skipped', skip: () => true, run: async () => 'never' },
      step('Three'),
    ],
    log,
    { progress: 'none' },
  );
  assert.equal(log.ran, ['One', 'Two a', 'Two b', 'Three']);
  assert.equal(outcomes, ['One: done', 'Two (0 before)', 'Skipped', 'Three']);
});

test('a failing step stops the list with its own error; what follows does not run', async () => {
  const log: Log = { ran: [] };
  const error = failure('two broke', 'fix two');
  const thrown = await runSteps([step('One'), { title: 'Two', children: [failing('Two a', error), step('Two b')] }, step('Three')], log, {
    progress: 'none',
  }).catch((e: unknown) => e);
  assert.is(thrown, error);
  assert.equal(log.ran, ['One', 'Two a']);
});

test('concurrent children all run to their end: one failure is thrown as it is, several as one with the first hint', async () => {
  const log: Log = { ran: [] };
  const charts = (children: Step<Log>[]): Step<Log> => ({ title: 'Charts', run: async () => 'Charts: ready', children, concurrent: true });
  const slow = step('slow', 'slow: ready', 50);
  const one = new UserError('a failed', { hint: 'look at a' });
  const alone = await runSteps([charts([failing('a', one), slow])], log, { progress: 'none' }).catch((e: unknown) => e);
  assert.is(alone, one);
  assert.equal(log.ran, ['a', 'slow'], 'the failure did not stop the slow one');

  const several = await runSteps([charts([failing('b', failure('b failed', 'look at b'), 10), failing('c', failure('c failed', 'look at c')), slow])], log, {
    progress: 'none',
  }).catch((e: unknown) => e);
  assert.instance(several, UserError);
  assert.is((several as UserError).message, 'c failed\nb failed');
  assert.is((several as UserError).hint, 'look at c');

  assert.equal(await runSteps([charts([slow, step('fast')])], log, { progress: 'none' }), ['Charts: ready']);
});

test('at no terminal: a plain line as each step starts, reports, ends or is skipped, also inside a list of its own', () => {
  const script = `
    const { Listr } = await import(${JSON.stringify(LISTR)});
    const { toListr } = await import(${JSON.stringify(STEPS)});
    const steps = [
      { title: 'Platform', children: [{ title: 'Charts', run: async () => 'Charts: 1 ready', concurrent: true, children: [
        { title: 'Gitea', run: async (_, report) => { report('waiting for the Job'); return 'Gitea: created, ready'; } },
      ] }] },
      { title: 'Skipped', skip: () => true },
      { title: 'Agents', run: async () => { throw new Error('no KEDA'); } },
      { title: 'Never' },
    ];
    const mine = new Listr([{ title: 'Mine', task: () => toListr(steps, {}, { progress: 'none' }) }], { renderer: 'simple' });
    await mine.run().catch((e) => console.log('error: ' + e.message));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: undefined, NO_COLOR: '1' },
  });
  assert.equal(result.stdout.trim().split('\n'), [
    '❯ Mine',
    '❯ Platform',
    '❯ Charts',
    '❯ Gitea',
    '› waiting for the Job',
    '✔ Gitea: created, ready',
    '✔ Charts: 1 ready',
    '✔ Platform',
    '❯ Skipped',
    '↓ Skipped [SKIPPED: Skipped]',
    '❯ Agents',
    'error: no KEDA',
  ]);
  assert.equal(result.stderr.trim().split('\n'), ['✖ Agents [FAILED: no KEDA]', '✖ Mine [FAILED: no KEDA]']);
});

test('bootstrapTasks: the bootstrap as a list, its dry run saying the plan', async () => {
  const said: string[] = [];
  const config = parseConfig({ gitea: { url: 'http://gitea.test/' } }, 'test');
  const list = bootstrapTasks(config, undefined, {
    stages: ['platform', 'gitea', 'flux'],
    dryRun: true,
    kubeconfig: '/nonexistent',
    say: (line) => said.push(line),
    progress: 'none',
    given: {},
  });
  await list.run();
  assert.ok(said.includes('would install chart gitea: gitea 12.4.0 into raibid, and wait for it'), said.join('\n'));
  assert.ok(said.includes('would apply GitRepository flux-system/cluster-config'), said.join('\n'));
  assert.equal(
    list.tasks.map((t) => t.title),
    ['Platform: Redis, KEDA, Gitea, Flux', 'Gitea setup', 'Flux syncing raibid/cluster-config (check: ConfigMap raibid/raibid-flux-sync)'],
  );
});

test.run();
