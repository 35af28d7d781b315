import { type Job, durationMs, isFinal } from '../queue/job.js';
import { GITHUB_TARGET, STATUS_TARGET } from '../queue/names.js';
import type { LogLine } from '../queue/queue.js';
import { formatDuration } from '../ui/format.js';
import { ansiToHtml, escapeHtml } from './ansi.js';

/** Takes every secret serve knows out of text from a build before it is shown. */
export type Redact = (text: string) => string;

export interface StepRow {
  name: string;
  durationMs?: number;
  exitCode?: number;
  running: boolean;
}

const withoutCredentials = (url: string) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');

/** The steps as the result reports them, or while it runs as its log shows them (the last one running). */
export function stepRows(job: Job, lines: LogLine[]): StepRow[] {
  const reported = job.result?.steps;
  if (Array.isArray(reported)) {
    return reported.map((s: { name?: unknown; durationMs?: unknown; exitCode?: unknown }) => ({
      name: String(s.name ?? '?'),
      durationMs: typeof s.durationMs === 'number' ? s.durationMs : undefined,
      exitCode: typeof s.exitCode === 'number' ? s.exitCode : undefined,
      running: false,
    }));
  }
  const seen = new Map<string, { first: number; last: number }>();
  for (const line of lines) {
    const span = seen.get(line.step);
    if (span) span.last = line.ts;
    else seen.set(line.step, { first: line.ts, last: line.ts });
  }
  const names = [...seen.keys()];
  return names.map((name, i) => ({ name, durationMs: seen.get(name)!.last - seen.get(name)!.first, running: !isFinal(job.state) && i === names.length - 1 }));
}

export function renderSummary(job: Job, now: number, redact: Redact): string {
  const took = formatDuration(durationMs(job, now));
  const fields: [string, string][] = [
    ['repository', jobRepo(job)],
    ['ref', job.ref],
    ['commit', job.sha?.slice(0, 12) ?? '-'],
    ['attempt', `${job.attempt}/${job.maxAttempts}`],
    ['duration', took],
    ...(job.exitCode !== undefined ? ([['exit code', String(job.exitCode)]] as [string, string][]) : []),
    ...(job.failedStep ? ([['failed step', job.failedStep]] as [string, string][]) : []),
    ...(job.error ? ([['error', redact(job.error)]] as [string, string][]) : []),
  ];
  const rows = fields.map(([name, value]) => `<dt>${name}</dt><dd>${escapeHtml(value)}</dd>`).join('');
  return `<p class="state s-${escapeHtml(job.state)}" id="state">${escapeHtml(job.state)}</p><dl>${rows}</dl>`;
}

export function renderSteps(rows: StepRow[]): string {
  if (rows.length === 0) return '<p class="dim">no step has started yet</p>';
  const body = rows
    .map((r) => {
      const exit = r.running ? 'running' : r.exitCode === undefined ? '-' : String(r.exitCode);
      const status = r.running ? 'running' : r.exitCode === undefined ? '' : r.exitCode === 0 ? 'ok' : 'bad';
      return `<tr class="${status}"><td>${escapeHtml(r.name)}</td><td>${formatDuration(r.durationMs)}</td><td>${exit}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>step</th><th>duration</th><th>exit</th></tr></thead><tbody>${body}</tbody></table>`;
}

export function renderLogLines(lines: LogLine[], redact: Redact): string {
  return lines
    .map((l) => {
      const time = new Date(l.ts).toISOString().slice(11, 19);
      return `<div class="l ${l.stream === 'err' ? 'err' : l.stream === 'raibid' ? 'sys' : 'out'}"><span class="t">${time}</span> <span class="st">[${escapeHtml(l.step)}]</span> ${ansiToHtml(redact(l.line))}</div>`;
    })
    .join('');
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,sans-serif;background:#fafafa;color:#222;overflow-wrap:anywhere}
main{max-width:60rem;margin:0 auto;padding:.75rem}h1{font-size:1.15rem;margin:.2rem 0}h2{font-size:1rem;margin:1rem 0 .3rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.4rem 0}dt{color:#666}dd{margin:0;min-width:0}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .4rem;border-bottom:1px solid #ddd}
tr.bad td{color:#b00020}tr.ok td:last-child{color:#1b7f2a}tr.running td{color:#0b63b6}
.state{display:inline-block;padding:.1rem .6rem;border-radius:1rem;background:#ddd;margin:.2rem 0;font-weight:600}
.s-succeeded{background:#d7f2dc;color:#1b5e20}.s-failed,.s-dead{background:#fbd8d8;color:#8a1010}.s-running{background:#d6e8fa;color:#0b4f8a}.s-cancelled{background:#f6ecc8;color:#6a5200}
#log{background:#111;color:#ddd;padding:.5rem;border-radius:.3rem;font:12.5px/1.4 ui-monospace,monospace;white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
.l .t{color:#777}.l .st{color:#5bc0de}.l.err{color:#f0c674}.l.sys{color:#999}.dim{color:#888}
.f30,.f90{color:#777}.f31,.f91{color:#ff6b6b}.f32,.f92{color:#69d26e}.f33,.f93{color:#f0c674}.f34,.f94{color:#6ca8ff}.f35,.f95{color:#d98cf0}.f36,.f96{color:#5bd2d8}.f37,.f97{color:#eee}
.b41,.b101{background:#6b1c1c}.b42,.b102{background:#1c4d22}.b43,.b103{background:#5c4a12}.b44,.b104{background:#1c2f5c}.bold{font-weight:700}.italic{font-style:italic}.underline{text-decoration:underline}
a{color:#0b63b6}form{display:flex;flex-wrap:wrap;gap:.4rem;margin:.5rem 0}input,select,button{font:inherit;padding:.3rem;max-width:100%}
`;

const page = (title: string, body: string, nonce: string, script = '', data = '') =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body${data}>${body}${script ? `<script nonce="${nonce}">${script}</script>` : ''}</body></html>
`;

/** Follows the job: log lines appended (the page kept at the bottom if it was there), summary and steps replaced, until `end`. */
const FOLLOW = `
const log=document.getElementById('log'),summary=document.getElementById('summary'),steps=document.getElementById('steps');
const source=new EventSource(document.body.dataset.events);
const atBottom=()=>window.innerHeight+window.scrollY>=document.body.scrollHeight-40;
source.addEventListener('log',(e)=>{const follow=atBottom();log.insertAdjacentHTML('beforeend',e.data);if(follow)window.scrollTo(0,document.body.scrollHeight)});
source.addEventListener('job',(e)=>{const d=JSON.parse(e.data);summary.innerHTML=d.summary;steps.innerHTML=d.steps});
source.addEventListener('end',()=>{source.close();document.body.dataset.live='ended'});
`;

export interface JobPageInput {
  job: Job;
  lines: LogLine[];
  /** Where the page's events come from, relative to the page. */
  eventsUrl: string;
  now: number;
  nonce: string;
  redact: Redact;
}

export function renderJobPage({ job, lines, eventsUrl, now, nonce, redact }: JobPageInput): string {
  const live = isFinal(job.state) ? 'ended' : 'live';
  const body = `<main data-job="${escapeHtml(job.id)}"><h1>job ${escapeHtml(job.id)}</h1>
<section id="summary">${renderSummary(job, now, redact)}</section>
<h2>Steps</h2><section id="steps">${renderSteps(stepRows(job, lines))}</section>
<h2>Log</h2><pre id="log">${renderLogLines(lines, redact)}</pre></main>`;
  return page(`${job.state} · job ${job.id}`, body, nonce, live === 'live' ? FOLLOW : '', ` data-live="${live}" data-events="${escapeHtml(eventsUrl)}"`);
}

export interface ListInput {
  jobs: Job[];
  filters: { repo: string; state: string };
  states: readonly string[];
  /** The link to a job's page, relative to the list. */
  linkTo(job: Job): string;
  listToken: string;
  now: number;
}

export const jobRepo = (job: Job) => job.meta[GITHUB_TARGET] ?? job.meta[STATUS_TARGET] ?? withoutCredentials(job.repo);

export function renderJobList({ jobs, filters, states, linkTo, listToken, now }: ListInput): string {
  const options = ['', ...states].map((s) => `<option value="${s}"${s === filters.state ? ' selected' : ''}>${s || 'any state'}</option>`).join('');
  const form = `<form method="get"><input type="hidden" name="t" value="${escapeHtml(listToken)}"><input name="repo" placeholder="repository" value="${escapeHtml(filters.repo)}"><select name="state">${options}</select><button>filter</button></form>`;
  const rows = jobs
    .map(
      (j) =>
        `<tr><td><a href="${escapeHtml(linkTo(j))}">${escapeHtml(j.id)}</a></td><td>${escapeHtml(jobRepo(j))}</td><td>${escapeHtml(j.ref.replace(/^refs\/heads\//, ''))}</td><td><span class="state s-${escapeHtml(j.state)}">${escapeHtml(j.state)}</span></td><td>${formatDuration(durationMs(j, now))}</td></tr>`,
    )
    .join('');
  const table = jobs.length
    ? `<table><thead><tr><th>job</th><th>repository</th><th>ref</th><th>state</th><th>duration</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p class="dim">no job matches</p>';
  return page('jobs', `<main><h1>jobs</h1>${form}${table}</main>`, '');
}
