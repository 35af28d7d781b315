import { failure } from './errors.js';

/**
 * Calls `pending` every pollMs until it answers undefined; past the deadline fails with what it
 * still waited for (`<what>: not ready after N s, waiting for <pending>`).
 */
export async function pollUntil(
  what: string,
  options: { timeoutMs: number; pollMs: number; hint?: string },
  pending: () => Promise<string | undefined>,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const waiting = await pending();
    if (!waiting) return;
    if (Date.now() >= deadline) throw failure(`${what}: not ready after ${Math.round(options.timeoutMs / 1000)} s, waiting for ${waiting}`, options.hint);
    await sleep(options.pollMs);
  }
}

/** Resolves after `ms`, or at once when `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
