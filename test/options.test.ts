import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../lib/errors.js';
import { defineOptions, parseOptions } from '../lib/options.js';
import { errorLines, runCli } from './fixtures/cli.js';

const test = suite('options: declared once, parsed once');
const home = mkdtempSync(join(tmpdir(), 'raibid-options-'));
const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), RAIBID_CONFIG: undefined, RAIBID_REDIS_URL: undefined };

test.after(() => rmSync(home, { recursive: true, force: true }));

const specs = defineOptions({
  name: { kind: 'string', description: 'a name', required: true },
  ref: { kind: 'string', description: 'a ref', default: 'HEAD' },
  colour: { kind: 'string', description: 'a colour', choices: ['red', 'green'], choiceName: 'colour' },
  key: { kind: 'string', description: 'a key file, or none', allowEmpty: true },
  interval: { kind: 'number', description: 'seconds', default: 2, min: 0.1, max: 3600 },
  count: { kind: 'number', description: 'how many', min: 1, integer: true },
  watch: { kind: 'boolean', description: 'keep going' },
});

function refusal(raw: Record<string, string | boolean>): string[] {
  try {
    parseOptions('demo', specs, { name: 'n', ...raw });
  } catch (error) {
    assert.instance(error, UserError);
    assert.is((error as UserError).exitCode, 2);
    return [(error as UserError).message, (error as UserError).hint ?? ''];
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

test('values are converted, defaults filled in, absent flags false', () => {
  assert.equal(parseOptions('demo', specs, { name: 'n' }), {
    name: 'n',
    ref: 'HEAD',
    colour: undefined,
    key: undefined,
    interval: 2,
    count: undefined,
    watch: false,
  });
  const given = parseOptions('demo', specs, { name: 'n', ref: 'main', colour: 'red', key: '', interval: '0.5', count: '3', watch: true });
  assert.equal(given, { name: 'n', ref: 'main', colour: 'red', key: '', interval: 0.5, count: 3, watch: true });
});

test('bad values are refused naming the flag and the value, with a hint', () => {
  const hint = 'see `raibid-task demo --help`';
  assert.equal(refusal({ interval: '5000' }), ["demo: --interval '5000' is not a number from 0.1 to 3600", hint]);
  assert.equal(refusal({ interval: 'x' }), ["demo: --interval 'x' is not a number from 0.1 to 3600", hint]);
  assert.equal(refusal({ count: '1.5' }), ["demo: --count '1.5' is not a whole number at least 1", hint]);
  assert.equal(refusal({ ref: ' ' }), ['demo: --ref needs a value', hint]);
  assert.equal(refusal({ count: '' }), ['demo: --count needs a value', hint]);
  assert.equal(refusal({ colour: 'blue' }), ["demo: --colour 'blue' is not a colour", 'colours: red, green']);
  assert.equal(refusal({ colour: 'a\x1b[2J' }), ["demo: --colour 'a\\x1b[2J' is not a colour", 'colours: red, green']);
  assert.throws(() => parseOptions('demo', specs, {}), /^demo: --name is required$/);
});

test('through the CLI: out of range, no value, required missing, a choice outside its choices: one line and a hint, exit 2', async () => {
  const [range, empty, missing, choice] = await Promise.all([
    runCli(['status', '--interval', '5000'], { env }),
    runCli(['dispatch', '--repo', ''], { env }),
    runCli(['dispatch', '--dry-run'], { env }),
    runCli(['jobs', 'list', '--state', 'sleeping'], { env }),
  ]);
  assert.is(range.code, 2);
  assert.equal(errorLines(range.stderr), [
    "raibid-task: status: --interval '5000' is not a number from 0.1 to 3600",
    '  hint: see `raibid-task status --help`',
  ]);
  assert.is(empty.code, 2);
  assert.equal(errorLines(empty.stderr), ['raibid-task: dispatch: --repo needs a value', '  hint: see `raibid-task dispatch --help`']);
  assert.is(missing.code, 2);
  assert.equal(errorLines(missing.stderr), ['raibid-task: dispatch: --repo is required', '  hint: see `raibid-task dispatch --help`']);
  assert.is(choice.code, 2);
  assert.equal(errorLines(choice.stderr), [
    "raibid-task: jobs: --state 'sleeping' is not a job state",
    '  hint: job states: queued, running, succeeded, failed, cancelled, dead',
  ]);
});

test('through the CLI: the default the help names is the one the task gets', async () => {
  const [dispatch, help, mirrorHelp] = await Promise.all([
    runCli(['dispatch', '--repo', 'https://git.example/o/r.git', '--dry-run', '--json'], { env, cwd: home }),
    runCli(['status', '--help'], { env }),
    runCli(['mirror', '--help'], { env }),
  ]);
  assert.is(dispatch.code, 0, dispatch.stderr);
  assert.is(JSON.parse(dispatch.stdout).ref, 'HEAD');
  assert.match(help.stdout, /--interval <s>\s+seconds between redraws with --watch \(default: 2\)\n/);
  assert.match(help.stdout, /--jobs <n>\s+how many recent jobs to show \(default: 10\)\n/);
  assert.match(mirrorHelp.stdout, /--schedule <cron>\s+when cron runs sync \(default: "\*\/15 \* \* \* \*"\)\n/);
});

test.run();
