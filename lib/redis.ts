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
  redis.on('error', () => {});
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS).unref(),
  );
  try {
    await Promise.race([redis.connect(), timeout]);
    connected = true;
    return redis;
  } catch (error) {
    redis.disconnect();
    throw failure(
      `cannot reach Redis at ${redactUrl(url)}: ${(error as Error).message}`,
      'start Redis or point redis.url / RAIBID_REDIS_URL at it (after bootstrap: the cluster\'s Redis)',
    );
  }
}
