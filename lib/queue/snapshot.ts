import { type JobView, jobView } from './job.js';
import type { AgentInfo, JobQueue, QueueStats } from './queue.js';

export interface Snapshot {
  at: string;
  queue: QueueStats & {
    persistence: { appendonly: string; appendfsync: string } | null;
    /** Running entries no live agent holds: a dead agent's, taken over after the visibility timeout. */
    unheld: number;
    visibilityTimeoutSeconds: number;
  };
  agents: (AgentInfo & { idleMs: number | null })[];
  jobs: JobView[];
}

/** Everything `status` shows, read in one pass. */
export async function snapshot(queue: JobQueue, options: { jobs: number }, now = Date.now()): Promise<Snapshot> {
  const staleMs = Math.max(3000, queue.options.visibilityTimeoutMs);
  const [stats, persistence, agents, jobs] = await Promise.all([
    queue.stats(),
    queue.persistence(),
    queue.agents(staleMs, now),
    queue.list({ limit: options.jobs }),
  ]);
  return {
    at: new Date(now).toISOString(),
    queue: {
      ...stats,
      persistence: persistence ?? null,
      unheld: Math.max(0, stats.pending - agents.reduce((held, agent) => held + agent.jobs.length, 0)),
      visibilityTimeoutSeconds: queue.options.visibilityTimeoutMs / 1000,
    },
    agents: agents.map((agent) => ({
      ...agent,
      idleMs: agent.idleSinceMs === undefined ? null : Math.max(0, now - agent.idleSinceMs),
    })),
    jobs: jobs.map((job) => jobView(job, now)),
  };
}
