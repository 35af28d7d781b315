import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Replay, startReplay } from './fixtures/replay-github.js';

const test = suite('replay-github: recorded GitHub exchanges of @octokit/fixtures over real HTTP');
const AUTH = { Authorization: 'token 0000000000000000000000000000000000000001', Accept: 'application/vnd.github.v3+json' };

let replay: Replay | undefined;

async function replaying(scenario: string): Promise<Replay> {
  replay = await startReplay(scenario);
  return replay;
}

const nextLink = (link: string | null) => link?.match(/<([^>]+)>;\s*rel="next"/)?.[1];

test.after.each(async () => {
  await replay?.close();
  replay = undefined;
});

test('get-repository: the recorded answer, its absolute API URLs pointing at the replay, its content-length right', async () => {
  const { url, unmatched, remaining } = await replaying('get-repository');
  const response = await fetch(`${url}/repos/octokit-fixture-org/hello-world`, { headers: AUTH });
  const text = await response.text();
  const repo = JSON.parse(text) as { full_name: string; url: string; html_url: string; hooks_url: string };
  assert.is(response.status, 200);
  assert.is(repo.full_name, 'octokit-fixture-org/hello-world');
  assert.is(repo.url, `${url}/repos/octokit-fixture-org/hello-world`);
  assert.is(repo.hooks_url, `${url}/repos/octokit-fixture-org/hello-world/hooks`);
  assert.is(repo.html_url, 'https://github.com/octokit-fixture-org/hello-world', 'only the API origin is rewritten');
  assert.is(response.headers.get('content-length'), String(Buffer.byteLength(text)));
  assert.is(response.headers.get('x-ratelimit-remaining'), '4999');
  assert.is(response.headers.get('etag'), '"00000000000000000000000000000000"');
  assert.equal([unmatched, remaining(), replay!.served], [[], [], 1]);
});

test('get-repository: a recording is served once; an unrecorded request is 404 "not recorded" and listed', async () => {
  const { url, unmatched } = await replaying('get-repository');
  assert.is((await fetch(`${url}/repos/octokit-fixture-org/hello-world`)).status, 200);
  const again = await fetch(`${url}/repos/octokit-fixture-org/hello-world`);
  assert.equal([again.status, await again.json()], [404, { message: 'not recorded' }]);
  assert.is((await fetch(`${url}/repos/octokit-fixture-org/other`, { method: 'DELETE' })).status, 404);
  assert.equal(unmatched, ['GET /repos/octokit-fixture-org/hello-world', 'DELETE /repos/octokit-fixture-org/other']);
  assert.is(replay!.served, 1);
});

test('rename-repository: the 301 and 307 Locations point at the replay, and a client following them is served there', async () => {
  const { url, unmatched, remaining } = await replaying('rename-repository');
  const patch = (path: string, body: unknown) =>
    fetch(`${url}${path}`, { method: 'PATCH', headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.is((await patch('/repos/octokit-fixture-org/rename-repository', { name: 'rename-repository-newname' })).status, 200);

  const followed = await fetch(`${url}/repos/octokit-fixture-org/rename-repository`, { headers: AUTH });
  assert.equal([followed.status, followed.redirected, followed.url], [200, true, `${url}/repositories/1000`]);
  assert.is(((await followed.json()) as { name: string }).name, 'rename-repository-newname');

  const renamed = { name: 'rename-repository-newname', description: 'test description' };
  const moved = await patch('/repos/octokit-fixture-org/rename-repository', renamed);
  assert.is(moved.status, 200, 'fetch follows a 307 with the same method and body');
  assert.is(moved.url, `${url}/repositories/1000`);
  assert.equal([unmatched, remaining(), replay!.served], [[], [], 5]);
});

test('rename-repository: the recorded 301 as sent, its Location rewritten', async () => {
  const { url } = await replaying('rename-repository');
  const moved = await fetch(`${url}/repos/octokit-fixture-org/rename-repository`, { redirect: 'manual' });
  assert.is(moved.status, 301);
  assert.is(moved.headers.get('location'), `${url}/repositories/1000`);
  assert.is(((await moved.json()) as { url: string }).url, `${url}/repositories/1000`);
});

test('rename-repository: a body other than the recorded one is answered from the recording and noted', async () => {
  const { url, unmatched } = await replaying('rename-repository');
  const response = await fetch(`${url}/repos/octokit-fixture-org/rename-repository`, { method: 'PATCH', body: JSON.stringify({ name: 'another-name' }) });
  assert.is(response.status, 200);
  assert.is(unmatched.length, 1);
  assert.match(
    unmatched[0]!,
    'PATCH /repos/octokit-fixture-org/rename-repository: body "{\\"name\\":\\"another-name\\"}" is not the recorded {"name":"rename-repository-newname"}',
  );
});

test('paginate-issues: every Link rel="next" points at the replay and is served, to the last page', async () => {
  const { url, unmatched, remaining } = await replaying('paginate-issues');
  const pages: number[][] = [];
  let next: string | undefined = `${url}/repos/octokit-fixture-org/paginate-issues/issues?per_page=3`;
  while (next) {
    const response: Response = await fetch(next, { headers: AUTH });
    assert.is(response.status, 200, next);
    pages.push(((await response.json()) as { number: number }[]).map((issue) => issue.number));
    next = nextLink(response.headers.get('link'));
    if (next) assert.ok(next.startsWith(`${url}/repositories/1000/issues?`), next);
  }
  assert.equal(pages, [[13, 12, 11], [10, 9, 8], [7, 6, 5], [4, 3, 2], [1]]);
  assert.equal([unmatched, remaining(), replay!.served], [[], [], 5]);
});

test('paginate-issues: the query is matched (order-free), and what was not asked for is remaining', async () => {
  const { url, unmatched, remaining } = await replaying('paginate-issues');
  assert.is((await fetch(`${url}/repositories/1000/issues?page=2&per_page=3`)).status, 200);
  assert.is((await fetch(`${url}/repositories/1000/issues?per_page=3&page=9`)).status, 404);
  assert.equal(unmatched, ['GET /repositories/1000/issues?page=9&per_page=3']);
  assert.equal(remaining(), [
    'GET /repos/octokit-fixture-org/paginate-issues/issues?per_page=3',
    'GET /repositories/1000/issues?page=3&per_page=3',
    'GET /repositories/1000/issues?page=4&per_page=3',
    'GET /repositories/1000/issues?page=5&per_page=3',
  ]);
});

test.run();
