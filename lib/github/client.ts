import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Endpoints, OctokitResponse, ResponseHeaders } from '@octokit/types';
import { describeNetworkError, failure } from '../errors.js';
import { EtagCache } from './etag-cache.js';
import { sleep } from '../poll.js';

export interface GitHubStats {
  requests: number;
  notModified: number;
  rateLimited: number;
}

export class GitHubApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Route = keyof Endpoints;
type ParamsOf<R extends Route> = Endpoints[R]['parameters'];
type DataOf<R extends Route> = Endpoints[R]['response']['data'];
type ListRoute = { [R in Route]: R extends `GET ${string}` ? (DataOf<R> extends unknown[] ? R : never) : never }[Route];
type ItemOf<R extends ListRoute> = DataOf<R> extends (infer Item)[] ? Item : never;
type ParamsArgs<R extends Route> = object extends ParamsOf<R> ? [params?: ParamsOf<R>] : [params: ParamsOf<R>];

/** The longest wait for a rate limit to lift before giving up (a cron run comes back later). */
const MAX_WAIT_S = 120;
const MAX_TRIES = 4;
/** A rate limit that names no wait (no Retry-After, no x-ratelimit-reset) is waited out this long, doubled each time (GitHub's advice). */
const BARE_429_WAIT_S = 60;
const PER_PAGE = 100;
const REQUEST_TIMEOUT_MS = 30_000;
const API_VERSION = '2022-11-28';

interface Shared {
  cache: EtagCache;
  stats: GitHubStats;
  unitMs: number;
}

const quiet = () => undefined;
const hasRateHeaders = (headers: ResponseHeaders = {}) => headers['retry-after'] !== undefined || headers['x-ratelimit-remaining'] === '0';
const isRateLimitError = (status: number, message: string) => status === 429 || (status === 403 && /rate limit/i.test(message));

/** The same list URL at page `number`. */
function withPage(url: string, number: number): string {
  const absolute = new URL(url);
  absolute.searchParams.set('page', String(number));
  return absolute.toString();
}

/** The page after this one, from a Link header. */
const nextLink = (link: string | undefined) =>
  link
    ?.split(',')
    .map((part) => part.match(/<([^>]+)>;\s*rel="next"/)?.[1])
    .find(Boolean);

/**
 * Conditional GETs through the on-disk ETag cache (a 304 costs no rate limit and serves the
 * cached page with its `next` link), a count of every try, and 429s that name no wait (which
 * the throttling plugin leaves alone) waited out for a minute and more. It wraps the request
 * inside the throttling and retry plugins, so it sees each of their tries.
 */
const conditionalRequests = ((octokit, options) => {
  const shared = (options as { shared: Shared }).shared;
  const wait = (seconds: number) => sleep(seconds * shared.unitMs);
  octokit.hook.wrap('request', async (request, endpoint): Promise<OctokitResponse<unknown>> => {
    const url = octokit.request.endpoint.parse(endpoint).url;
    const cached = endpoint.method === 'GET' ? shared.cache.get(url) : undefined;
    // before-after-hook hands inner hooks the options object itself: headers are set on it
    endpoint.headers['x-github-api-version'] = API_VERSION;
    if (cached) endpoint.headers['if-none-match'] = cached.etag;
    for (let attempt = 0; ; attempt++) {
      shared.stats.requests += 1;
      try {
        const response = await request(endpoint);
        if (endpoint.method === 'GET' && response.headers.etag)
          shared.cache.set(url, { etag: response.headers.etag, body: response.data, next: nextLink(response.headers.link) });
        return response;
      } catch (error) {
        const { status, response } = error as { status?: number; response?: { headers: ResponseHeaders; data?: { message?: string } } };
        if (status === 304 && cached) {
          shared.stats.notModified += 1;
          const next = cached.next ? { link: `<${cached.next}>; rel="next"` } : {};
          // 304 tells `list` the page came from the cache
          return { status: 304, url, headers: { ...response?.headers, ...next }, data: cached.body };
        }
        const bare = isRateLimitError(status ?? 0, response?.data?.message ?? '') && !hasRateHeaders(response?.headers);
        const seconds = BARE_429_WAIT_S * 2 ** attempt;
        if (!bare || attempt + 1 >= MAX_TRIES || seconds > MAX_WAIT_S) throw error;
        shared.stats.rateLimited += 1;
        await wait(seconds);
      }
    }
  });
}) satisfies Parameters<typeof Octokit.plugin>[0];

const RaibidOctokit = Octokit.plugin(conditionalRequests, throttling, retry);

/**
 * GitHub through Octokit: typed by GitHub's OpenAPI description (the routes of @octokit/types),
 * conditional GETs through the ETag cache, `per_page=100` pages, rate limits waited out (primary:
 * until x-ratelimit-reset; secondary: Retry-After, else a minute) up to two minutes, transient
 * errors retried, and counters for what it cost. Octokit's own log stays quiet: cron mail gets
 * what the run reports, not a line per 304.
 */
export class GitHubClient {
  readonly stats: GitHubStats = { requests: 0, notModified: 0, rateLimited: 0 };
  private readonly octokit: InstanceType<typeof RaibidOctokit>;

  constructor(
    apiUrl: string,
    token: string | undefined,
    private readonly cache = new EtagCache(undefined),
    /** How long one second of a wait GitHub asks for lasts (tests shorten it). */
    unitMs = 1000,
    /** Tries after a transient error (5xx, a dropped connection); a caller with its own backoff passes 0. */
    retries = 3,
  ) {
    const onLimit = (seconds: number, _options: unknown, _octokit: unknown, retryCount: number) => {
      this.stats.rateLimited += 1;
      return retryCount + 1 < MAX_TRIES && seconds <= MAX_WAIT_S;
    };
    this.octokit = new RaibidOctokit({
      baseUrl: apiUrl.replace(/\/+$/, ''),
      ...(token ? { auth: token } : {}),
      userAgent: 'raibid-task',
      log: { debug: quiet, info: quiet, warn: (message: string) => process.stderr.write(`GitHub: ${message}\n`), error: quiet },
      request: { fetch: (url: string, init: RequestInit) => fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) }) },
      throttle: { onRateLimit: onLimit, onSecondaryRateLimit: onLimit, retryAfterBaseValue: unitMs, fallbackSecondaryRateRetryAfter: BARE_429_WAIT_S },
      retry: { retries, retryAfterBaseValue: unitMs, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
      shared: { cache, stats: this.stats, unitMs } satisfies Shared,
    });
  }

  private async send<R extends Route>(route: R, params: ParamsOf<R> | undefined): Promise<OctokitResponse<DataOf<R>>> {
    try {
      return (await this.octokit.request(route as string, params as Record<string, unknown>)) as OctokitResponse<DataOf<R>>;
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === undefined) throw error;
      const asked = this.octokit.request.endpoint(route as string, params as Record<string, unknown>);
      const unreachable = describeNetworkError(error, asked.url);
      if (unreachable) throw failure(unreachable, "check github.apiUrl and this machine's network");
      const [method, path] = [asked.method, new URL(asked.url).pathname];
      const response = (error as { response?: { headers: ResponseHeaders; data?: { message?: string } } }).response;
      const message = response?.data?.message ?? (error as Error).message;
      if (isRateLimitError(status, message)) {
        const reset = Number(response?.headers['x-ratelimit-reset']);
        const lifts = Number.isFinite(reset) && reset > 0 ? `; it lifts in ${Math.max(0, Math.ceil(reset - Date.now() / 1000))} s` : '';
        throw failure(
          `GitHub rate limit reached (${method} ${path})${lifts}`,
          'the next run picks up where this one stopped; a token raises the limit (GITHUB_TOKEN)',
        );
      }
      throw new GitHubApiError(status, `GitHub answered ${status} to ${method} ${path}${message ? `: ${message}` : ''}`);
    }
  }

  /** One GET (conditional: a 304 serves the cached answer and costs no rate limit). */
  async get<R extends Route>(route: R, ...[params]: ParamsArgs<R>): Promise<{ data: DataOf<R>; headers: ResponseHeaders }> {
    const { data, headers } = await this.send(route, params);
    return { data, headers };
  }

  /**
   * Every page of a list, 100 at a time. A full last page served from the cache (304) may no
   * longer be the last: an item added after it changes only the page behind it, so that page is
   * asked for too.
   */
  async list<R extends ListRoute>(route: R, ...[params]: ParamsArgs<R>): Promise<ItemOf<R>[]> {
    const perPage = (params as { per_page?: number } | undefined)?.per_page ?? PER_PAGE;
    const items: ItemOf<R>[] = [];
    let answer = await this.send(route, { ...params, per_page: perPage } as ParamsOf<R>);
    for (let page = 1; ; page++) {
      const body = answer.data as ItemOf<R>[];
      items.push(...body);
      const cachedFull = (answer.status as number) === 304 && body.length === perPage;
      const next = nextLink(answer.headers.link) ?? (cachedFull ? withPage(answer.url, page + 1) : undefined);
      if (!next || body.length === 0) return items;
      answer = await this.send(`GET ${next}` as R, undefined);
    }
  }

  async write<R extends Route>(route: R, ...[params]: ParamsArgs<R>): Promise<DataOf<R>> {
    return (await this.send(route, params)).data;
  }

  saveCache(): void {
    this.cache.save();
  }
}
