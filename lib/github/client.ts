import { failure } from '../errors.js';
import { EtagCache } from './etag-cache.js';

export interface GitHubStats {
  requests: number;
  notModified: number;
  rateLimited: number;
}

export class GitHubApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly location?: string,
  ) {
    super(message);
  }
}

/** The longest wait for a rate limit to lift before giving up (a cron run comes back later). */
const MAX_WAIT_MS = 120_000;
const MAX_TRIES = 4;

function nextLink(header: string | null): string | undefined {
  return header?.split(',').map((part) => part.match(/<([^>]+)>;\s*rel="next"/)?.[1]).find(Boolean);
}

const PER_PAGE = 100;

/** The same list URL at page `number`. */
function withPage(url: string, number: number): string {
  const absolute = new URL(url, 'http://relative.invalid');
  absolute.searchParams.set('page', String(number));
  return url.startsWith('http') ? absolute.toString() : `${absolute.pathname}${absolute.search}`;
}

/**
 * A thin GitHub REST client: conditional GETs through the ETag cache, `per_page=100` pages
 * followed by their Link headers, rate limits (primary: wait for x-ratelimit-reset; secondary:
 * Retry-After) honoured, and counters for what it cost.
 */
export class GitHubClient {
  readonly stats: GitHubStats = { requests: 0, notModified: 0, rateLimited: 0 };
  private readonly base: string;

  constructor(
    apiUrl: string,
    private readonly token: string | undefined,
    private readonly cache = new EtagCache(undefined),
    private readonly sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.base = apiUrl.replace(/\/+$/, '');
  }

  private async send(method: string, url: string, body?: unknown, etag?: string): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      this.stats.requests += 1;
      const response = await fetch(url, {
        method,
        redirect: 'manual',
        headers: {
          Accept: 'application/vnd.github+json',
          'X-GitHub-Api-Version': '2022-11-28',
          'User-Agent': 'raibid-task',
          ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
          ...(etag ? { 'If-None-Match': etag } : {}),
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const wait = this.rateLimitWait(response);
      if (wait === undefined) return response;
      this.stats.rateLimited += 1;
      await response.arrayBuffer();
      if (attempt >= MAX_TRIES || wait > MAX_WAIT_MS) {
        throw failure(`GitHub rate limit reached (${method} ${new URL(url).pathname}); it lifts in ${Math.ceil(wait / 1000)} s`, 'the next run picks up where this one stopped; a token raises the limit (GITHUB_TOKEN)');
      }
      await this.sleep(wait);
    }
  }

  /** How long to wait before trying again, or undefined when the answer is not a rate limit. */
  private rateLimitWait(response: Response): number | undefined {
    const retryAfter = response.headers.get('retry-after');
    if ((response.status === 429 || response.status === 403) && retryAfter) return Number(retryAfter) * 1000;
    if (response.status === 403 && response.headers.get('x-ratelimit-remaining') === '0') {
      return Math.max(0, Number(response.headers.get('x-ratelimit-reset')) * 1000 - Date.now()) + 1000;
    }
    return undefined;
  }

  private async fail(response: Response, method: string, url: string): Promise<never> {
    const text = await response.text();
    let message = '';
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? '';
    } catch {
      message = text.slice(0, 200);
    }
    throw new GitHubApiError(response.status, `GitHub answered ${response.status} to ${method} ${new URL(url).pathname}${message ? `: ${message}` : ''}`, response.headers.get('location') ?? undefined);
  }

  /** A GET through the ETag cache: a 304 serves the cached body and costs no rate limit. */
  async get<T>(path: string): Promise<{ body: T; next?: string; cached?: boolean }> {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    const cached = this.cache.get(url);
    const response = await this.send('GET', url, undefined, cached?.etag);
    if (response.status === 304 && cached) {
      this.stats.notModified += 1;
      return { body: cached.body as T, next: cached.next, cached: true };
    }
    if (!response.ok) return this.fail(response, 'GET', url);
    const body = (await response.json()) as T;
    const next = nextLink(response.headers.get('link'));
    const etag = response.headers.get('etag');
    if (etag) this.cache.set(url, { etag, body, next });
    return { body, next };
  }

  /**
   * Every page of a list, 100 at a time. A full last page served from the cache (304) may no
   * longer be the last: an item added after it changes only the page behind it, so that page is
   * asked for too.
   */
  async list<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = `${path}${path.includes('?') ? '&' : '?'}per_page=${PER_PAGE}`;
    for (let number = 1; next; number++) {
      const page: { body: T[]; next?: string; cached?: boolean } = await this.get<T[]>(next);
      items.push(...page.body);
      next = page.next ?? (page.cached && page.body.length === PER_PAGE ? withPage(next, number + 1) : undefined);
    }
    return items;
  }

  async write<T>(method: 'POST' | 'PATCH', path: string, body: unknown): Promise<T> {
    const url = `${this.base}${path}`;
    const response = await this.send(method, url, body);
    if (!response.ok) return this.fail(response, method, url);
    return (await response.json()) as T;
  }

  saveCache(): void {
    this.cache.save();
  }
}
