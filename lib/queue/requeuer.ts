import type { JobQueue } from './queue.js';

/** Often enough that a stranded job is back in the lag within a few seconds of the visibility timeout. */
export const requeueEveryMs = (visibilityTimeoutMs: number) => Math.max(1000, Math.min(5000, visibilityTimeoutMs / 4));

export interface RequeueReport {
  requeued(ids: string[]): void;
  failed(error: Error): void;
}

/**
 * Runs `queue.requeueStalled()` at once and then `everyMs` after each pass ends, until the
 * returned function is called. A failing pass (Redis down) is reported once until one succeeds.
 */
export function startRequeuing(
  queue: Pick<JobQueue, 'requeueStalled' | 'options'>,
  report: RequeueReport,
  everyMs = requeueEveryMs(queue.options.visibilityTimeoutMs),
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failing = false;
  const pass = async () => {
    try {
      const ids = await queue.requeueStalled();
      failing = false;
      if (ids.length > 0 && !stopped) report.requeued(ids);
    } catch (error) {
      if (!failing && !stopped) report.failed(error as Error);
      failing = true;
    }
    if (!stopped) timer = setTimeout(() => void pass(), everyMs);
  };
  void pass();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
