import type { Redis } from 'ioredis';
import { redisUrl, type Config } from '../config.js';
import { reachRedis } from '../platform/redis-access.js';
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

/** The workstation tasks' way in: redis.url, or the cluster's Redis through a port-forward (lib/platform/redis-access). */
export async function withQueue<T>(config: Config, env: NodeJS.ProcessEnv, use: (open: OpenQueue) => Promise<T>): Promise<T> {
  const access = await reachRedis(config, env);
  try {
    const open = await openQueue(config, 'raibid-task', access.url);
    try {
      return await use(open);
    } finally {
      await open.close();
    }
  } finally {
    await access.close();
  }
}
