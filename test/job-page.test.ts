import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jobPageUrl } from '../lib/jobs-page/link.js';
import type { Claim } from '../lib/queue/queue.js';
import { type Chromium, type Tab, startChromium } from './fixtures/chromium.js';
import { claimNext, makeQueue } from './fixtures/queue.js';
import { type TestServe, startTestServe } from './fixtures/serve.js';
import { type RedisServer, startRedis } from './fixtures/redis.js';
import { until } from './fixtures/wait.js';

const test = suite('the job page and the job list, in a real headless Chromium');
const SECRET = 'job-page-webhook-secret';
const GITHUB_TOKEN = 'ghp_job_page_token_never_shown';
const artifacts = mkdtempSync(join(tmpdir(), 'raibid-job-page-'));
let redis: RedisServer;
let client: Redis;
let serve: TestServe;
let browser: Chromium;
let tab: Tab;
let base: string;

const line = (text: string, stream: 'out' | 'err' = 'out', step = 'cargo build') => ({ step, stream, line: text, ts: Date.now() });

test.before(async () => {
  redis = await startRedis();
  client = redis.client();
  serve = await startTestServe({ redis: { url: redis.url } }, { githubToken: GITHUB_TOKEN }, SECRET);
  base = serve.base;
  browser = await startChromium();
  tab = await browser.open(390, 844);
});
test.after(async () => {
  await browser?.close();
  await serve?.close();
  client?.disconnect();
  await redis?.stop();
});

async function runningJob(): Promise<{ id: string; claim: Claim }> {
  const queue = makeQueue(client);
  const { id } = await queue.enqueue({
    repo: 'https://gitea.example/mirrors/api-one.git',
    ref: 'refs/heads/main',
    sha: 'a'.repeat(40),
    meta: { 'gitea.repo': 'mirrors/api-one', 'github.repo': 'acme/api-one' },
  });
  const blocking = redis.client();
  const started = await claimNext(queue, blocking, 'agent-1');
  blocking.disconnect();
  if (started?.verdict !== 'run') throw new Error('not started');
  return { id, claim: started.claim };
}

test('the log shows at once, coloured and escaped, without secrets, fits a phone, and follows the job live until it ends', async () => {
  const queue = makeQueue(client);
  const { id, claim } = await runningJob();
  await queue.appendLog(id, [
    line('checked out at aaaa', 'out', 'checkout'),
    line('\x1b[1m\x1b[32m   Compiling\x1b[0m api-one v0.1.0'),
    line('<script>window.pwned=1</script><img src=x onerror="window.pwned=1">'),
    line(`token was ${GITHUB_TOKEN} and ${SECRET}`, 'err'),
    line(`a very long line ${'x'.repeat(400)}`),
  ]);
  const path = new URL(jobPageUrl('http://unused', SECRET, id)).pathname + new URL(jobPageUrl('http://unused', SECRET, id)).search;
  await tab.goto(base + path);
  const text = () => tab.evaluate<string>('document.getElementById("log").innerText');
  assert.match(await text(), 'Compiling api-one v0.1.0');
  assert.is(await tab.evaluate('document.querySelector("#log .f32.bold")?.textContent'), '   Compiling');
  assert.match(await text(), '<script>window.pwned=1</script>');
  assert.is(
    await tab.evaluate('window.pwned === undefined && document.querySelectorAll("#log script, #log img").length === 0'),
    true,
    'log text is not markup',
  );
  const html = await tab.evaluate<string>('document.documentElement.outerHTML');
  assert.not.match(html, GITHUB_TOKEN);
  assert.not.match(html, SECRET);
  assert.match(await text(), 'token was (redacted) and (redacted)');
  assert.is(await tab.evaluate('document.querySelector("meta[name=viewport]").content'), 'width=device-width, initial-scale=1');
  assert.ok(await tab.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth'), 'no horizontal scroll at 390 px');
  assert.is(await tab.evaluate('document.getElementById("state").textContent'), 'running');

  await queue.appendLog(id, [line('   Compiling more v1.0.0'), line('running 3 tests', 'out', 'cargo test')]);
  await until(async () => (await text()).includes('running 3 tests'), 'the page to show lines written after it loaded');
  assert.match(await tab.evaluate<string>('document.getElementById("steps").innerText'), 'cargo test');
  writeFileSync(join(artifacts, 'job-running.png'), await tab.screenshot());

  await queue.complete(claim, {
    state: 'failed',
    exitCode: 101,
    failedStep: 'cargo test',
    error: 'cargo test exited with 101',
    result: {
      steps: [
        { name: 'cargo build', durationMs: 61_000, exitCode: 0 },
        { name: 'cargo test', durationMs: 2500, exitCode: 101 },
      ],
    },
    summary: 'failed at cargo test',
  });
  await until(async () => (await tab.evaluate('document.body.dataset.live')) === 'ended', 'the page to see the job end');
  assert.is(await tab.evaluate('document.getElementById("state").textContent'), 'failed');
  const steps = await tab.evaluate<string>('document.getElementById("steps").innerText');
  assert.match(steps, /cargo build\s+1m01s\s+0/);
  assert.match(steps, /cargo test\s+2\.5s\s+101/);
  assert.match(await text(), 'failed at cargo test');
  const shot = join(artifacts, 'job-page.png');
  writeFileSync(shot, await tab.screenshot());
  process.stdout.write(`\njob page screenshots: ${shot} (and job-running.png)\n`);
});

test("links are unguessable: a wrong token, or another job's, finds nothing", async () => {
  const { id } = await runningJob();
  const other = new URL(jobPageUrl(base, SECRET, `${id}x`)).searchParams.get('t');
  for (const t of ['', 'x'.repeat(32), other]) assert.is((await fetch(`${base}/jobs/${id}?t=${t}`)).status, 404);
  assert.is((await fetch(`${base}/jobs/${id}/events?t=${other}`)).status, 404);
  assert.is((await fetch(`${base}/jobs?t=${other}`)).status, 404);
  assert.is((await fetch(jobPageUrl(base, SECRET, id))).status, 200);
});

test('the job list filters by repository and state, and its links open the job pages (relative, as behind an ingress)', async () => {
  await tab.goto(`${base}${serve.jobList}&state=running`);
  const rows = await tab.evaluate<string[]>('[...document.querySelectorAll("tbody tr")].map((r) => r.innerText)');
  assert.ok(rows.length >= 1 && rows.every((r) => r.includes('running') && r.includes('acme/api-one')), rows.join('|'));
  assert.ok(await tab.evaluate<boolean>('[...document.querySelectorAll("tbody a")].every((a) => !a.getAttribute("href").startsWith("/"))'), 'relative links');
  await tab.evaluate('document.querySelector("input[name=repo]").value = "no-such-repo"; document.querySelector("form").submit()');
  // the submitted form navigates: until the new page has a body, there is none to read
  await until(async () => (await tab.evaluate<string>('document.body?.innerText ?? ""')).includes('no job matches'), 'the filtered list');
  // its load event fired, so the next navigation's wait cannot take it for its own
  await until(async () => (await tab.evaluate<string>('document.readyState')) === 'complete' || undefined, 'the filtered list loaded');
  await tab.goto(`${base}${serve.jobList}&repo=acme`);
  await tab.evaluate('document.querySelector("tbody a").click()');
  await until(
    async () =>
      (await tab.evaluate<string>('location.pathname')).startsWith('/jobs/') &&
      (await tab.evaluate<string | null>('document.getElementById("state")?.textContent ?? null')) !== null,
    'the job page from the list',
  );
});

test.run();
