import type { Redis } from 'ioredis';
import { redisUrl, type Config } from '../config.js';
import { connectRedis } from '../redis.js';
import { JobQueue, queueOptions } from './queue.js';

export interface OpenQueue {
  queue: JobQueue;
  redis: Redis;
  url: string;
  /** Another connection to the same Redis, for blocking reads. */
  connect(): Promise<Redis>;
  close(): Promise<void>;
}

export async function openQueue(config: Config, name = 'raibid-task'): Promise<OpenQueue> {
  const url = redisUrl(config);
  const redis = await connectRedis(url, { name });
  return {
    queue: new JobQueue(redis, queueOptions(config)),
    redis,
    url,
    connect: () => connectRedis(url, { name: `${name}-blocking` }),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export async function withQueue<T>(config: Config, use: (open: OpenQueue) => Promise<T>): Promise<T> {
  const open = await openQueue(config);
  try {
    return await use(open);
  } finally {
    await open.close();
  }
}
