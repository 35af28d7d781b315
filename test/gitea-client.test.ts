import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GiteaClient } from '../lib/gitea/client.js';
import { type FakeGitea, startFakeGitea } from './fixtures/fake-gitea.js';

const test = suite('Gitea client: lists as Gitea pages them');

let gitea: FakeGitea;
test.before(async () => {
  gitea = await startFakeGitea();
});
test.after(() => gitea.close());

const within = <T>(ms: number, run: Promise<T>) =>
  Promise.race([run, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

test('an org of 120 repositories is read to the end: three pages of at most 50, by the Link headers', async () => {
  gitea.orgs.add('big');
  for (let i = 0; i < 120; i++) {
    const name = `repo-${String(i).padStart(3, '0')}`;
    gitea.repos.set(`big/${name}`, {
      id: 5000 + i,
      owner: 'big',
      name,
      private: false,
      path: `/nonexistent/${name}`,
      mirror: true,
      mirrorInterval: '8h0m0s',
      mirrorUpdated: '2026-01-01T00:00:00Z',
      originalUrl: '',
      archived: false,
    });
  }
  const before = gitea.requests.length;
  const { items } = await new GiteaClient(gitea.url, { token: gitea.token }).list('GET /orgs/{org}/repos', { params: { org: 'big' } });
  assert.is(items.length, 120);
  assert.is(new Set(items.map((r) => r.name)).size, 120, 'no repository twice');
  assert.is(gitea.requests.length - before, 3, 'pages of 50, 50 and 20');
});

test('a list Gitea does not page (admin hooks, all in one answer) is read once, however long', async () => {
  for (let i = 0; i < 60; i++)
    gitea.hooks.push({
      id: 9000 + i,
      type: 'gitea',
      config: { url: `http://elsewhere/${i}`, content_type: 'json' },
      events: ['push'],
      active: true,
      system: true,
      secret: 's',
    });
  const before = gitea.requests.length;
  const { items } = await within(10_000, new GiteaClient(gitea.url, { token: gitea.token }).list('GET /admin/hooks', { query: { type: 'all' } }));
  assert.is(items.length, 60);
  assert.is(gitea.requests.length - before, 1);
});

test.run();
