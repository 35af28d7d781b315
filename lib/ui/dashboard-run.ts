import type { JobQueue } from '../queue/queue.js';
import { snapshot } from '../queue/snapshot.js';
import { type DashboardState, type Effect, initialState, parseKeys, press, renderDashboard } from './dashboard.js';
import { ENTER_ALTERNATE_SCREEN, LEAVE_ALTERNATE_SCREEN, type Paint } from './format.js';

export interface DashboardOptions {
  queue: JobQueue;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  paint: Paint;
  jobs: number;
  intervalMs: number;
  signal: AbortSignal;
}

const LOG_KEPT = 500;

/** `status --watch` at a terminal: the dashboard on the alternate screen until q, Ctrl-C or the signal. */
export async function runDashboard(options: DashboardOptions): Promise<number> {
  const { queue, stdin, stdout, paint, signal } = options;
  let state: DashboardState = initialState();
  let logAfter = '-';
  /** Counts the log panes opened, so a read for an earlier one is dropped. */
  let pane = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));

  const draw = () => {
    const lines = renderDashboard(state, stdout.columns || 80, stdout.rows || 24, paint);
    stdout.write(`\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\r\n')}\x1b[J`);
  };
  let queued: Promise<void> = Promise.resolve();
  // one read at a time, in order: two reads of a log from one place would show its lines twice
  const refresh = () => (queued = queued.catch(() => undefined).then(read));
  const read = async () => {
    const snap = await snapshot(queue, { jobs: options.jobs });
    const following = state.logOf;
    const opened = pane;
    if (following) {
      const lines = await queue.readLog(following, logAfter);
      // the pane may have been closed or opened again meanwhile
      if (state.logOf === following && pane === opened) {
        if (lines.length) logAfter = lines.at(-1)!.id;
        state = { ...state, log: [...state.log, ...lines].slice(-LOG_KEPT) };
      }
    }
    state = { ...state, snapshot: snap };
  };
  const act = async (effect: Effect) => {
    if (effect.kind === 'quit') return done();
    if (effect.kind === 'open-log') {
      logAfter = '-';
      pane += 1;
    } else {
      const reply = effect.kind === 'cancel' ? await queue.cancel(effect.id) : await queue.retry(effect.id);
      state = { ...state, message: `${effect.id}: ${reply}` };
    }
    await refresh();
  };
  const fail = (error: unknown) => {
    state = { ...state, message: paint.red(`cannot read the queue: ${(error as Error).message}`) };
    draw();
  };
  const onData = (data: Buffer) => {
    for (const key of parseKeys(data.toString('utf8'))) {
      const { state: next, effect } = press(state, key);
      state = next;
      if (effect) void act(effect).then(draw, fail);
    }
    draw();
  };

  stdout.write(ENTER_ALTERNATE_SCREEN);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.on('data', onData);
  stdout.on('resize', draw);
  signal.addEventListener('abort', () => done(), { once: true });
  const timer = setInterval(() => void refresh().then(draw, fail), options.intervalMs);
  try {
    await refresh().then(draw, fail);
    await finished;
  } finally {
    clearInterval(timer);
    stdin.off('data', onData);
    stdout.off('resize', draw);
    stdin.setRawMode(false);
    stdin.pause();
    stdout.write(LEAVE_ALTERNATE_SCREEN);
  }
  return 0;
}
