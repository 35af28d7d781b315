import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JOB_STATES, type Job, isFinal } from '../queue/job.js';
import type { JobQueue, LogLine } from '../queue/queue.js';
import { jobToken, listToken, tokenMatches } from './link.js';
import { type Redact, jobRepo, renderJobList, renderJobPage, renderLogLines, renderSteps, renderSummary, stepRows } from './render.js';

export interface JobPagesOptions {
  queue: JobQueue;
  /** The webhook secret: the key of the links. */
  secret: string;
  /** Every secret serve holds, taken out of whatever a build wrote before it is shown. */
  secrets: (string | undefined)[];
  pollMs?: number;
}

const ID = /^[A-Za-z0-9._-]{1,100}$/;
const ENTRY = /^\d+-\d+$/;
const LIST_LIMIT = 100;

export function redactor(secrets: (string | undefined)[]): Redact {
  const known = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 6).sort((a, b) => b.length - a.length);
  return (text) => known.reduce((t, s) => t.split(s).join('(redacted)'), text);
}

const htmlHeaders = (nonce: string) => ({
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
});

const notFound = (res: ServerResponse) => {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end('not found: a job page opens from the link in its commit status\n');
};

const eventBlock = (event: string, data: string, id?: string) =>
  `${id ? `id: ${id}\n` : ''}event: ${event}\n${data
    .split('\n')
    .map((l) => `data: ${l}`)
    .join('\n')}\n\n`;

/**
 * serve's job pages, with links relative to the page so they work under any prefix the ingress
 * puts them: GET /jobs?t= (the list, filtered by repo and state), GET /jobs/<id>?t= (state,
 * steps, log) and GET /jobs/<id>/events?t= (server-sent events: log lines, state changes, end).
 * A wrong or missing token is answered as a job that does not exist.
 */
export function jobPages(options: JobPagesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { queue, secret } = options;
  const redact = redactor(options.secrets);
  const pollMs = options.pollMs ?? 500;

  const list = async (url: URL, res: ServerResponse) => {
    if (!tokenMatches(listToken(secret), url.searchParams.get('t'))) return notFound(res);
    const filters = { repo: (url.searchParams.get('repo') ?? '').trim(), state: url.searchParams.get('state') ?? '' };
    const state = (JOB_STATES as readonly string[]).includes(filters.state) ? (filters.state as Job['state']) : undefined;
    const jobs = (await queue.list({ limit: filters.repo ? LIST_LIMIT * 5 : LIST_LIMIT, state }))
      .filter((j) => !filters.repo || jobRepo(j).toLowerCase().includes(filters.repo.toLowerCase()))
      .slice(0, LIST_LIMIT);
    const prefix = url.pathname.endsWith('/') ? '' : 'jobs/';
    const html = renderJobList({
      jobs,
      filters: { ...filters, state: state ?? '' },
      states: JOB_STATES,
      linkTo: (j) => `${prefix}${encodeURIComponent(j.id)}?t=${jobToken(secret, j.id)}`,
      listToken: listToken(secret),
      now: Date.now(),
    });
    res.writeHead(200, htmlHeaders(''));
    res.end(html);
  };

  const show = async (id: string, res: ServerResponse) => {
    const job = await queue.get(id);
    if (!job) return notFound(res);
    const lines = await queue.readLog(id);
    const nonce = randomBytes(16).toString('base64');
    const after = lines.at(-1)?.id;
    const eventsUrl = `${encodeURIComponent(id)}/events?t=${jobToken(secret, id)}${after ? `&after=${after}` : ''}`;
    res.writeHead(200, htmlHeaders(nonce));
    res.end(renderJobPage({ job, lines, eventsUrl, now: Date.now(), nonce, redact }));
  };

  const follow = async (id: string, url: URL, req: IncomingMessage, res: ServerResponse) => {
    if (!(await queue.get(id))) return notFound(res);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    let closed = false;
    req.on('close', () => (closed = true));
    const given = url.searchParams.get('after') ?? String(req.headers['last-event-id'] ?? '');
    let after = ENTRY.test(given) ? given : '-';
    // every line so far, without its text, for the steps' durations while it runs
    const earlier = after === '-' ? [] : await queue.readLog(id, '-', 100_000);
    const seen: LogLine[] = earlier.slice(0, earlier.findIndex((l) => l.id === after) + 1).map((l) => ({ ...l, line: '' }));
    let shown = '';
    while (!closed) {
      const job = await queue.get(id);
      const lines = await queue.readLog(id, after, 1000);
      if (lines.length) {
        after = lines.at(-1)!.id;
        seen.push(...lines.map((l) => ({ ...l, line: '' })));
        res.write(eventBlock('log', renderLogLines(lines, redact), after));
      }
      if (job) {
        const state = JSON.stringify({ summary: renderSummary(job, Date.now(), redact), steps: renderSteps(stepRows(job, seen)) });
        if (state !== shown) res.write(eventBlock('job', state));
        shown = state;
      }
      if (!job || (isFinal(job.state) && lines.length === 0)) {
        res.end(eventBlock('end', job?.state ?? 'gone'));
        return;
      }
      if (lines.length < 1000) await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    res.end();
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'jobs' || req.method !== 'GET') return false;
    const id = parts[1] === undefined ? undefined : decodeURIComponent(parts[1]);
    const fail = (error: unknown) => {
      if (!res.headersSent) res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`cannot read the job now: ${(error as Error).message}\n`);
    };
    if (id === undefined) list(url, res).catch(fail);
    else if (
      !ID.test(id) ||
      parts.length > 3 ||
      (parts[2] !== undefined && parts[2] !== 'events') ||
      !tokenMatches(jobToken(secret, id), url.searchParams.get('t'))
    )
      notFound(res);
    else if (parts[2] === 'events') follow(id, url, req, res).catch(fail);
    else show(id, res).catch(fail);
    return true;
  };
}
