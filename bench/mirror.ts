// Mirror reconcile for an org of 1,000 repositories with 10 pushed since the last sync, beside
// the sync-every-repo strategy, against the fake GitHub and Gitea APIs (real HTTP, real git for
// each mirror-sync). One JSON line per measurement.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../lib/config.js';
import { GiteaClient } from '../lib/gitea/client.js';
import { GitHubClient } from '../lib/github/client.js';
import { mapLimited } from '../lib/limit.js';
import { syncMirrors } from '../lib/mirror/run.js';
import { startFakeGitea } from '../test/fixtures/fake-gitea.js';
import { startFakeGitHub } from '../test/fixtures/fake-github.js';
import { commitFiles } from '../test/fixtures/git.js';

const REPOS = Number(process.env.BENCH_REPOS ?? 1000);
const PUSHED = Number(process.env.BENCH_PUSHED ?? 10);
const root = mkdtempSync(join(tmpdir(), 'raibid-bench-mirror-'));
const [github, gitea] = await Promise.all([startFakeGitHub(), startFakeGitea()]);

try {
  // one small source and one mirror of it, shared by every repository: the cost measured is the APIs'
  const source = join(root, 'source.git');
  commitFiles(join(root, 'work'), { 'a.txt': 'a\n' });
  execFileSync('git', ['clone', '--quiet', '--bare', join(root, 'work'), source]);
  const mirrorDir = join(root, 'mirror.git');
  execFileSync('git', ['clone', '--quiet', '--mirror', source, mirrorDir]);
  gitea.orgs.add('bench');
  const synced = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (let i = 0; i < REPOS; i++) {
    const name = `repo-${String(i).padStart(4, '0')}`;
    github.addRepo({ owner: 'bench', name, cloneUrl: source });
    gitea.repos.set(`bench/${name}`, {
      id: i + 1000,
      owner: 'bench',
      name,
      private: false,
      path: mirrorDir,
      mirror: true,
      mirrorInterval: '8h0m0s',
      mirrorUpdated: synced,
      originalUrl: source,
      archived: false,
    });
  }
  await new Promise((r) => setTimeout(r, 1100));
  const loaded = {
    config: parseConfig({ gitea: { url: gitea.url }, github: { apiUrl: github.url }, mirror: { orgs: [{ name: 'bench' }] } }, 'bench'),
    path: undefined,
    inCurrentDir: false,
    secrets: { githubToken: github.token, giteaToken: gitea.token },
  };
  const env = { RAIBID_CACHE_DIR: join(root, 'cache') };
  const measure = async (strategy: string, run: () => Promise<{ githubRequests: number; notModified: number }>) => {
    const [giteaBefore, githubBefore] = [gitea.requests.length, github.requests.length];
    const started = performance.now();
    const counts = await run();
    const ms = Math.round(performance.now() - started);
    const line = {
      strategy,
      repos: REPOS,
      pushed: PUSHED,
      githubRequests: github.requests.length - githubBefore,
      notModified: counts.notModified,
      giteaCalls: gitea.requests.length - giteaBefore,
      ms,
    };
    console.log(JSON.stringify(line));
    return line;
  };
  const reconcile = async (full = false) => {
    const result = await syncMirrors(loaded, env, { prune: false, full });
    return { githubRequests: result.github.requests, notModified: result.github.notModified };
  };
  await reconcile(); // the last sync: fills the ETag cache
  for (let i = 0; i < PUSHED; i++) github.push('bench', `repo-${String(i * 97).padStart(4, '0')}`);
  const ours = await measure('reconcile (pushed since the last sync, ETags)', () => reconcile());
  await measure('reconcile, unchanged second run', () => reconcile());
  await measure('reconcile --full (Gitea read in full, heads compared; once a day)', () => reconcile(true));
  const everyRepo = await measure('sync every repo', async () => {
    const gh = new GitHubClient(github.url, github.token);
    const repos = await gh.list('GET /orgs/{org}/repos', { org: 'bench', type: 'all' });
    const client = new GiteaClient(gitea.url, { token: gitea.token });
    await mapLimited(repos, 4, (r) => client.call('POST /repos/{owner}/{repo}/mirror-sync', { params: { owner: 'bench', repo: r.name } }));
    return { githubRequests: gh.stats.requests, notModified: gh.stats.notModified };
  });
  console.log(JSON.stringify({ giteaCallsRatio: Number((ours.giteaCalls / everyRepo.giteaCalls).toFixed(4)), goal: '<= 0.02' }));
} finally {
  await Promise.all([github.close(), gitea.close()]);
  rmSync(root, { recursive: true, force: true });
}
