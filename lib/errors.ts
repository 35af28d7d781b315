export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An error the user can act on: printed as one line plus a hint, never with a stack. */
export class UserError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number } = {}) {
    super(message);
    this.name = 'UserError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT_USAGE;
  }
}

/** Something outside the user's input failed (a server down, a remote error): exit 1. */
export function failure(message: string, hint?: string): UserError {
  return new UserError(message, { hint, exitCode: EXIT_FAILURE });
}

interface NetworkCause extends Error {
  code?: string;
  hostname?: string;
  address?: string;
  port?: number;
  errors?: NetworkCause[];
}

function findFetchFailure(error: unknown): (Error & { cause?: unknown }) | undefined {
  for (let e = error as (Error & { cause?: unknown }) | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e instanceof TypeError && e.message === 'fetch failed') return e;
  }
  return undefined;
}

/**
 * undici's `fetch failed` says neither where nor why; both are in its `cause` (a connect error,
 * or an AggregateError of one per address tried). As one line: `cannot reach <host>: <cause>`.
 */
export function describeNetworkError(error: unknown, url?: string): string | undefined {
  const failed = findFetchFailure(error);
  if (!failed) return undefined;
  const cause = failed.cause as NetworkCause | undefined;
  const first = cause?.errors?.[0] ?? cause;
  const host = url ? new URL(url).host : (first?.hostname ?? (first?.address ? `${first.address}${first.port ? `:${first.port}` : ''}` : 'the server'));
  const reasons = [...new Set((cause?.errors ?? (cause ? [cause] : [])).map((e) => e.message || e.code || String(e)))];
  return `cannot reach ${host}: ${reasons.join('; ') || 'the connection failed'}`;
}

/** A fetch that could not reach its server, as a failure naming the host and the cause; other errors as they are. */
export function networkFailure(error: unknown, url: string, hint?: string): unknown {
  const line = describeNetworkError(error, url);
  return line ? failure(line, hint) : error;
}

/** An error from shared steps, said as the task's own: `kubeconfig: …`, not `bootstrap: …` or a bare `k3s: …`. */
export function asTaskError(task: string, error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const message = error.message.replace(/^bootstrap: /, '');
  if (message.startsWith(`${task}: `)) return error;
  if (error instanceof UserError) return new UserError(`${task}: ${message}`, { hint: error.hint, exitCode: error.exitCode });
  const named = new Error(`${task}: ${message}`, { cause: error });
  named.stack = error.stack;
  return named;
}
