import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GitHubClient } from '../lib/github/client.js';
import { EtagCache } from '../lib/github/etag-cache.js';
import { type FakeGitHub, startFakeGitHub } from './fixtures/fake-github.js';

const test = suite('GitHub client: rate limits, conditional requests, a quiet log');

let github: FakeGitHub;
/** One second of a wait GitHub asks for lasts this long here. */
const UNIT_MS = 5;

test.before(async () => {
  github = await startFakeGitHub();
  for (const name of ['one', 'two', 'three']) github.addRepo({ owner: 'acme', name, cloneUrl: `/nowhere/${name}.git` });
});
test.after(() => github.close());

const client = (cache = new EtagCache(undefined)) => new GitHubClient(github.url, github.token, cache, UNIT_MS);
const listAcme = (c: GitHubClient) => c.list('GET /orgs/{org}/repos', { org: 'acme', type: 'all' });

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; units: number }> {
  const started = performance.now();
  const value = await run();
  return { value, units: (performance.now() - started) / UNIT_MS };
}

test('a secondary limit with Retry-After is waited out for as long as it says', async () => {
  github.limitNext(1, 'secondary', 20);
  const c = client();
  const { value, units } = await timed(() => listAcme(c));
  assert.is(value.length, 3);
  assert.ok(units >= 20, `waited ${units.toFixed(0)} s-units`);
  assert.is(c.stats.rateLimited, 1);
});

test('a primary limit (403, x-ratelimit-remaining: 0) is waited out until its reset', async () => {
  github.limitNext(1, 'primary', 1);
  const c = client();
  const { value } = await timed(() => listAcme(c));
  assert.is(value.length, 3);
  assert.is(c.stats.rateLimited, 1);
});

test('a limit that names no wait is waited out a minute, then two: backing off', async () => {
  github.limitNext(2, 'secondary-without-retry-after');
  const c = client();
  const { value, units } = await timed(() => listAcme(c));
  assert.is(value.length, 3);
  assert.ok(units >= 60 + 120, `waited ${units.toFixed(0)} s-units`);
  assert.is(c.stats.rateLimited, 2);
});

test('a limit lifting later than two minutes stops the run at once, saying when it lifts', async () => {
  github.limitNext(1, 'primary', 3600);
  const c = client();
  const before = github.requests.length;
  try {
    await listAcme(c);
    assert.unreachable('the run stops');
  } catch (error) {
    assert.match((error as Error).message, /^GitHub rate limit reached \(GET \/orgs\/acme\/repos\); it lifts in 360\d s$/);
  }
  assert.is(github.requests.length - before, 1, 'no retry');
});

test('a second read of an unchanged list is all 304s: no rate limit spent, nothing in the log', async () => {
  const cache = new EtagCache(undefined);
  await listAcme(client(cache));
  const used = github.rateLimitUsed;
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  const error = console.error;
  process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
  console.error = (...args: unknown[]) => written.push(args.join(' '));
  try {
    const c = client(cache);
    assert.is((await listAcme(c)).length, 3);
    assert.is(c.stats.notModified, 1);
  } finally {
    process.stderr.write = write;
    console.error = error;
  }
  assert.is(github.rateLimitUsed, used);
  assert.equal(written, []);
});

test.run();
