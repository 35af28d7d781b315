import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { commitStatusFor } from '../lib/statuses/describe.js';
import { type Job, jobFromHash } from '../lib/queue/job.js';

const test = suite('commit statuses: what Gitea shows for each state change');

const job = (fields: Record<string, string>): Job =>
  jobFromHash({
    id: 'j1',
    repo: 'r',
    ref: 'main',
    sha: 'abc',
    attempt: '1',
    maxAttempts: '3',
    createdAt: '1',
    startedAt: '1000',
    finishedAt: '66000',
    ...fields,
  })!;

test('a failed build is a failure; a checkout or .raibid.yml that failed is an error, with its reason', () => {
  assert.equal(commitStatusFor({ state: 'failed', attempt: 1 }, job({ state: 'failed', failedStep: 'cargo test', error: 'cargo test exited with 101' })), {
    state: 'failure',
    description: 'cargo test failed after 1m05s: cargo test exited with 101',
  });
  assert.equal(commitStatusFor({ state: 'failed', attempt: 1 }, job({ state: 'failed', failedStep: 'checkout', error: 'no such ref main' })), {
    state: 'error',
    description: 'checkout failed after 1m05s: no such ref main',
  });
  assert.equal(
    commitStatusFor({ state: 'failed', attempt: 1 }, job({ state: 'failed', failedStep: '.raibid.yml', error: 'steps.0.run: required' }))?.state,
    'error',
  );
});

test('running and retrying are pending, saying which attempt; success counts the steps; cancelled and dead are errors', () => {
  assert.equal(commitStatusFor({ state: 'running', attempt: 2 }, job({ state: 'running' })), { state: 'pending', description: 'attempt 2 running' });
  assert.equal(commitStatusFor({ state: 'queued', attempt: 1 }, job({ state: 'queued', error: 'network' })), {
    state: 'pending',
    description: 'attempt 1 failed, retrying: network',
  });
  assert.equal(commitStatusFor({ state: 'succeeded', attempt: 1 }, job({ state: 'succeeded', result: JSON.stringify({ steps: [{}, {}, {}] }) })), {
    state: 'success',
    description: '3 steps passed in 1m05s',
  });
  assert.equal(commitStatusFor({ state: 'cancelled', attempt: 1 }, job({ state: 'cancelled' }))?.state, 'error');
  assert.equal(commitStatusFor({ state: 'dead', attempt: 3 }, job({ state: 'dead', error: 'gave up after 3 attempts: network' })), {
    state: 'error',
    description: 'gave up after 3 attempts: network',
  });
});

test('queued is pending; a description longer than GitHub takes is cut to 140 characters', () => {
  assert.equal(commitStatusFor({ state: 'queued', attempt: 0 }, job({ state: 'queued' })), { state: 'pending', description: 'queued' });
  const long = commitStatusFor({ state: 'failed', attempt: 1 }, job({ state: 'failed', failedStep: 'cargo test', error: 'x'.repeat(300) }))!.description;
  assert.is(long.length, 140);
  assert.ok(long.endsWith('…'));
});

test.run();
