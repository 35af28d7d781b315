import type * as Gitea from 'gitea-js';
import { networkFailure } from '../errors.js';

/** A client for Gitea's REST API (/api/v1), its requests and answers typed from Gitea's swagger (the types of gitea-js). */
export type GiteaAuth = { token: string } | { username: string; password: string };

type Operation<Body, Answer, Query = undefined> = { body: Body; answer: Answer; query: Query };

/** Every endpoint raibid-task calls, named by method and swagger path. */
export interface GiteaOperations {
  'GET /version': Operation<undefined, Gitea.ServerVersion>;
  'GET /user': Operation<undefined, Gitea.User>;
  'POST /users/{username}/tokens': Operation<Gitea.CreateAccessTokenOption, Gitea.AccessToken>;
  'DELETE /users/{username}/tokens/{token}': Operation<undefined, undefined>;
  // `type` came with Gitea 1.24 (routers/api/v1/admin/hooks.go ListHooks): system hooks by default
  'GET /admin/hooks': Operation<undefined, Gitea.Hook[], { type: 'system' | 'default' | 'all' }>;
  'POST /admin/hooks': Operation<Gitea.CreateHookOption, Gitea.Hook>;
  'PATCH /admin/hooks/{id}': Operation<Gitea.EditHookOption, Gitea.Hook>;
  'DELETE /admin/hooks/{id}': Operation<undefined, undefined>;
  'GET /orgs/{org}': Operation<undefined, Gitea.Organization>;
  'POST /orgs': Operation<Gitea.CreateOrgOption, Gitea.Organization>;
  'GET /orgs/{org}/repos': Operation<undefined, Gitea.Repository[]>;
  'POST /orgs/{org}/repos': Operation<Gitea.CreateRepoOption, Gitea.Repository>;
  'GET /repos/{owner}/{repo}': Operation<undefined, Gitea.Repository>;
  'PATCH /repos/{owner}/{repo}': Operation<Gitea.EditRepoOption, Gitea.Repository>;
  'DELETE /repos/{owner}/{repo}': Operation<undefined, undefined>;
  'POST /repos/migrate': Operation<Gitea.MigrateRepoOptions, Gitea.Repository>;
  'POST /repos/{owner}/{repo}/mirror-sync': Operation<undefined, undefined>;
  'GET /repos/{owner}/{repo}/branches/{branch}': Operation<undefined, Gitea.Branch>;
  'POST /repos/{owner}/{repo}/statuses/{sha}': Operation<Gitea.CreateStatusOption, Gitea.CommitStatus>;
}

export type GiteaOperation = keyof GiteaOperations;
type PathOf<O> = O extends `${string} ${infer Path}` ? Path : never;
type ParamsOf<P> = P extends `${string}{${infer Name}}${infer Rest}` ? Record<Name, string | number> & ParamsOf<Rest> : unknown;
type ListOperation = { [O in GiteaOperation]: GiteaOperations[O]['answer'] extends unknown[] ? O : never }[GiteaOperation];

export type GiteaArgs<O extends GiteaOperation> = (PathOf<O> extends `${string}{${string}` ? { params: ParamsOf<PathOf<O>> } : { params?: never }) &
  (GiteaOperations[O]['body'] extends undefined ? { body?: never } : { body: GiteaOperations[O]['body'] }) & {
    query?: GiteaOperations[O]['query'];
    /** Statuses answered as they are (besides 2xx); any other throws. */
    accept?: number[];
    timeoutMs?: number;
  };
type RawArgs = { params?: Record<string, string | number>; body?: unknown; query?: Record<string, string>; accept?: number[]; timeoutMs?: number };
type ArgsList<O extends GiteaOperation> = object extends GiteaArgs<O> ? [args?: GiteaArgs<O>] : [args: GiteaArgs<O>];

export class GiteaApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The request ran out of time: the server may still be doing what was asked. */
export const isTimeout = (error: unknown) => error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');

export function authHeader(auth: GiteaAuth): string {
  return 'token' in auth ? `token ${auth.token}` : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The most Gitea answers in one page (MAX_RESPONSE_ITEMS, modules/setting/api.go); a server may set it lower. */
export const GITEA_PAGE = 50;

const hasNext = (link: string | null) => link !== null && /rel="next"/.test(link);

function fillPath(path: string, params: Record<string, string | number> = {}): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(params[name])));
}

export class GiteaClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly auth: GiteaAuth,
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  private async send(operation: GiteaOperation, args: RawArgs = {}, page?: number): Promise<{ status: number; body: unknown; headers: Headers }> {
    const [method = 'GET', template = ''] = operation.split(' ');
    const query = new URLSearchParams(Object.entries({ ...(args.query ?? {}), ...(page ? { limit: GITEA_PAGE, page } : {}) }).map(([k, v]) => [k, String(v)]));
    const path = `${fillPath(template, args.params)}${query.size ? `?${query}` : ''}`;
    const target = `${this.url}/api/v1${path}`;
    const response = await fetch(target, {
      method,
      headers: { Authorization: authHeader(this.auth), Accept: 'application/json', ...(args.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: args.body === undefined ? undefined : JSON.stringify(args.body),
      signal: AbortSignal.timeout(args.timeoutMs ?? 15_000),
    }).catch((error: unknown) => {
      throw networkFailure(error, target, 'is Gitea up at that address? (gitea.url)');
    });
    const body = parseJson(await response.text());
    if (response.ok || args.accept?.includes(response.status)) return { status: response.status, body, headers: response.headers };
    const message = (body as { message?: string } | undefined)?.message;
    throw new GiteaApiError(response.status, `Gitea answered ${response.status} to ${method} ${path}${message ? `: ${message}` : ''}`);
  }

  /** One call: its status and answer (the answer of an accepted error status is Gitea's error body). */
  async call<O extends GiteaOperation>(operation: O, ...[args]: ArgsList<O>): Promise<{ status: number; body: GiteaOperations[O]['answer'] }> {
    const { status, body } = await this.send(operation, args as RawArgs);
    return { status, body: body as GiteaOperations[O]['answer'] };
  }

  /**
   * Every page of a list. Gitea marks a page with more behind it by a `Link` rel="next" and
   * counts the whole in `X-Total-Count` (services/context/api.go SetLinkHeader,
   * SetTotalCountHeader); without either the list is not paged: one answer holds it all.
   */
  async list<O extends ListOperation>(operation: O, ...[args]: ArgsList<O>): Promise<{ status: number; items: GiteaOperations[O]['answer'] }> {
    const items: unknown[] = [];
    for (let page = 1; ; page++) {
      const answer = await this.send(operation, args as RawArgs, page);
      if (!Array.isArray(answer.body)) return { status: answer.status, items: items as GiteaOperations[O]['answer'] };
      items.push(...answer.body);
      const total = Number(answer.headers.get('x-total-count') ?? NaN);
      // a list Gitea does not page (1.24's admin hooks) sends neither header, and every page would repeat it
      const more = answer.headers.has('link') ? hasNext(answer.headers.get('link')) : Number.isFinite(total) && items.length < total;
      if (!more || answer.body.length === 0) return { status: answer.status, items: items as GiteaOperations[O]['answer'] };
    }
  }
}
