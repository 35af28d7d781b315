import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ansiToHtml } from '../lib/jobs-page/ansi.js';
import { redactor } from '../lib/jobs-page/routes.js';
import { jobFromHash, jobView } from '../lib/queue/job.js';
import type { Snapshot } from '../lib/queue/snapshot.js';
import { type DashboardState, initialState, parseKeys, press, renderDashboard } from '../lib/ui/dashboard.js';
import { fitWidth, painter } from '../lib/ui/format.js';

const test = suite("rendering build output: the job page's HTML, the dashboard's screen");

test('ANSI colours become spans, other escape sequences and control characters go, markup is escaped', () => {
  assert.is(ansiToHtml('\x1b[1;31merror\x1b[0m: <b>&"x"'), '<span class="f31 bold">error</span>: &lt;b&gt;&amp;&quot;x&quot;');
  assert.is(ansiToHtml('\x1b[38;5;208morange\x1b[39m \x1b[2Kcleared\x1b]0;title\x07 bell\x07'), 'orange cleared bell');
  assert.is(ansiToHtml('\x1b[32m<img src=x onerror=alert(1)>'), '<span class="f32">&lt;img src=x onerror=alert(1)&gt;</span>');
});

test('every secret serve holds is taken out of a line, the longest first', () => {
  const redact = redactor(['hunter2-secret', 'hunter2-secret-longer', undefined, 'abc']);
  assert.is(redact('a hunter2-secret-longer and hunter2-secret, abc'), 'a (redacted) and (redacted), abc');
});

const snapshotOf = (count: number): Snapshot => ({
  at: '2026-01-01T10:00:00.000Z',
  queue: {
    stream: 's',
    group: 'g',
    length: 1,
    streamLength: 1,
    lag: 1,
    pending: 1,
    dead: 0,
    consumers: 1,
    totals: {},
    persistence: null,
    unheld: 0,
    visibilityTimeoutSeconds: 30,
  },
  agents: [{ name: 'agent-with-a-long-name-1', host: 'h', pid: 1, jobs: ['j0'], idleSinceMs: undefined, lastSeenMs: 0, idleMs: null }],
  jobs: Array.from({ length: count }, (_, i) =>
    jobView(
      jobFromHash({
        id: `job-${i}`,
        repo: `https://gitea.example/acme/a-repository-with-a-long-name-${i}.git`,
        ref: 'refs/heads/feature/long-branch',
        state: i % 2 ? 'running' : 'queued',
        attempt: '1',
        maxAttempts: '3',
        createdAt: '1',
      })!,
      2,
    ),
  ),
});

test("the dashboard is exactly the terminal's size at any width, the selected job always in view", () => {
  const paint = painter({ isTTY: true }, {});
  let state: DashboardState = { ...initialState(), snapshot: snapshotOf(40) };
  for (let i = 0; i < 30; i++) state = press(state, 'down').state;
  state = { ...state, logOf: 'job-30', log: [{ id: '1-1', step: 'cargo test', stream: 'out', line: `\x1b[31m${'y'.repeat(300)}\x1b[0m`, ts: 0 }] };
  for (const [width, height] of [
    [20, 8],
    [44, 16],
    [80, 24],
    [200, 60],
  ] as const) {
    const lines = renderDashboard(state, width, height, paint);
    assert.is(lines.length, height);
    // eslint-disable-next-line no-control-regex
    for (const line of lines) assert.ok(line.replace(/\x1b\[[0-9;]*m/g, '').length <= width, `${width}: ${JSON.stringify(line)}`);
    assert.ok(
      lines.some((l) => l.includes('> ') && l.includes('job-30')),
      `${width}x${height}: the selected row shown`,
    );
  }
  assert.is(fitWidth('\x1b[31mabcdef\x1b[0m', 3, ''), '\x1b[31mabc\x1b[0m');
});

test('keys: arrows, Enter, confirmations and the filter', () => {
  assert.equal(parseKeys('\x1b[A\x1b[B\r/x\x7f\x1b\x03q'), [
    'up',
    'down',
    'enter',
    { char: '/' },
    { char: 'x' },
    'backspace',
    'escape',
    'interrupt',
    { char: 'q' },
  ]);
  let state: DashboardState = { ...initialState(), snapshot: snapshotOf(3) };
  state = press(state, { char: 'r' }).state;
  assert.equal(state.confirm, { action: 'retry', id: 'job-0' });
  const confirmed = press(state, { char: 'y' });
  assert.equal(confirmed.effect, { kind: 'retry', id: 'job-0' });
  assert.is(press(state, { char: 'q' }).effect, undefined, 'any other key declines; q does not quit mid-question');
  state = press(press(press(initialState(), { char: '/' }).state, { char: 'q' }).state, 'enter').state;
  assert.is(state.filter, 'q', 'q is text while filtering');
});

test.run();
