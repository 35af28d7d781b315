/**
 * How the platform's Redis persists the queue. AOF with an fsync per write: an enqueue
 * that returned an id survives a crash of Redis or of its node. At CI job rates (a few
 * writes per job) the cost is negligible; see bench/queue for the figures.
 */
export const REDIS_PERSISTENCE = {
  appendonly: 'yes',
  appendfsync: 'always',
} as const;
