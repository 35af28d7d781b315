/** A thin client for Gitea's REST API (/api/v1): JSON in and out, a timeout, and errors that say what was asked. */
export type GiteaAuth = { token: string } | { username: string; password: string };

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

export class GiteaClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly auth: GiteaAuth,
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  /** The answer's status and JSON body; statuses in `accept` (besides 2xx) are returned, any other throws. */
  async request<T = unknown>(method: string, path: string, body?: unknown, accept: number[] = [], options: { timeoutMs?: number } = {}): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: { Authorization: authHeader(this.auth), Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    const text = await response.text();
    const parsed = parseJson(text) as T;
    if (response.ok || accept.includes(response.status)) return { status: response.status, body: parsed };
    const message = (parsed as { message?: string } | undefined)?.message;
    throw new GiteaApiError(response.status, `Gitea answered ${response.status} to ${method} ${path}${message ? `: ${message}` : ''}`);
  }
}
