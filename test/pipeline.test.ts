import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PipelineError, RUST_PIPELINE, parsePipeline } from '../lib/agent/pipeline.js';

const test = suite('.raibid.yml');

test('steps with env and timeouts', () => {
  const pipeline = parsePipeline(
    'env:\n  RUSTFLAGS: -Dwarnings\n  JOBS: 4\ntimeout: 900\nsteps:\n  - name: clippy\n    run: cargo clippy\n    timeout: 300\n  - name: test\n    run: cargo test --release\n    env:\n      RUST_LOG: debug\n',
  );
  assert.equal(pipeline, {
    source: '.raibid.yml',
    env: { RUSTFLAGS: '-Dwarnings', JOBS: '4' },
    timeoutSeconds: 900,
    steps: [
      { name: 'clippy', run: 'cargo clippy', env: {}, timeoutSeconds: 300 },
      { name: 'test', run: 'cargo test --release', env: { RUST_LOG: 'debug' }, timeoutSeconds: undefined },
    ],
  });
});

test('the default is cargo fetch, build --all-targets, test, run without a shell', () => {
  assert.equal(
    RUST_PIPELINE.steps.map((s) => s.run),
    [
      ['cargo', 'fetch'],
      ['cargo', 'build', '--all-targets'],
      ['cargo', 'test'],
    ],
  );
});

test('a malformed file says where', () => {
  const cases: [string, string][] = [
    ['steps:\n  - name: build\n    command: make\n', '.raibid.yml: steps.0.command: unknown key'],
    ['steps:\n  - run: make\n', '.raibid.yml: steps.0.name: required (string)'],
    ['steps: []\n', '.raibid.yml: steps: '],
    ['steps:\n  - name: a\n    run: b\n    timeout: -1\n', '.raibid.yml: steps.0.timeout: '],
    ['env:\n  1BAD: x\nsteps:\n  - name: a\n    run: b\n', '.raibid.yml: env.1BAD: not a variable name'],
    ['steps: [unclosed\n', '.raibid.yml: not valid YAML'],
    ['', '.raibid.yml: (top level): '],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parsePipeline(text),
      (e: unknown) => e instanceof PipelineError && e.message.startsWith(message),
      `${JSON.stringify(text)} → ${message}`,
    );
  }
});

test.run();
