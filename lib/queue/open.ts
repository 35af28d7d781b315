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

export async function openQueue(config: Config, name = 'raibid-task', url = redisUrl(config)): Promise<OpenQueue> {
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
