import { Redis } from 'ioredis';
import { failure } from './errors.js';

export const CONNECT_TIMEOUT_MS = 3000;

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable redis url)';
  }
}

/**
 * Connects within CONNECT_TIMEOUT_MS or fails with the address and a hint.
 * Once connected, a dropped connection is retried with backoff.
 */
export async function connectRedis(url: string, options: { name?: string } = {}): Promise<Redis> {
  let connected = false;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    connectionName: options.name,
    maxRetriesPerRequest: 20,
    retryStrategy: (times) => (connected ? Math.min(times * 100, 2000) : null),
  });
  // the cause of a failed connect (a refused password) comes as an error event, before "Connection is closed"
  let cause: Error | undefined;
  redis.on('error', (error: Error) => {
    cause ??= error;
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS).unref(),
  );
  try {
    // a PING at once: a Redis that wants a password answers NOAUTH here, not at the first command
    await Promise.race([redis.connect().then(() => redis.ping()), timeout]);
    connected = true;
    return redis;
  } catch (error) {
    redis.disconnect();
    const message = (/WRONGPASS|NOAUTH/.test(cause?.message ?? '') ? cause! : (error as Error)).message;
    if (/WRONGPASS|NOAUTH|invalid password/i.test(message)) {
      throw failure(
        `Redis at ${redactUrl(url)} refused the password: ${message}`,
        "the password in redis.url / RAIBID_REDIS_URL does not match (after bootstrap: kubectl -n raibid get secret raibid-redis -o jsonpath='{.data.url}' | base64 -d)",
      );
    }
    throw failure(
      `cannot reach Redis at ${redactUrl(url)}: ${(error as Error).message}`,
      "start Redis (`raibid-task up` runs one here) or point redis.url / RAIBID_REDIS_URL at it (after bootstrap: the cluster's Redis)",
    );
  }
}
