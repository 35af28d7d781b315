import type { JobView } from '../queue/job.js';
import type { LogLine } from '../queue/queue.js';
import type { Snapshot } from '../queue/snapshot.js';
import { ANSI, type Paint, fitWidth, formatDuration, formatLogLine, paintState, printable, shortRepo, table } from './format.js';

export type Key = 'up' | 'down' | 'enter' | 'escape' | 'backspace' | 'interrupt' | { char: string };

export interface DashboardState {
  snapshot?: Snapshot;
  selectedId?: string;
  filter: string;
  filtering: boolean;
  /** The job whose log the pane follows. */
  logOf?: string;
  log: LogLine[];
  confirm?: { action: 'cancel' | 'retry'; id: string };
  message?: string;
}

export type Effect = { kind: 'cancel' | 'retry'; id: string } | { kind: 'open-log'; id: string } | { kind: 'quit' };

export const initialState = (): DashboardState => ({ filter: '', filtering: false, log: [] });

/** Bytes read from a terminal in raw mode as keys. */
export function parseKeys(data: string): Key[] {
  const keys: Key[] = [];
  for (let i = 0; i < data.length;) {
    const rest = data.slice(i);
    // eslint-disable-next-line no-control-regex
    const arrow = rest.match(/^\x1b(?:\[|O)([AB])/);
    if (arrow) {
      keys.push(arrow[1] === 'A' ? 'up' : 'down');
      i += arrow[0].length;
      continue;
    }
    // eslint-disable-next-line no-control-regex
    const other = rest.match(/^\x1b\[[0-9;]*[~A-Za-z]/);
    if (other) {
      i += other[0].length;
      continue;
    }
    const c = data[i]!;
    i += 1;
    if (c === '\r' || c === '\n') keys.push('enter');
    else if (c === '\x1b') keys.push('escape');
    else if (c === '\x7f' || c === '\b') keys.push('backspace');
    else if (c === '\x03' || c === '\x04') keys.push('interrupt');
    else if (c >= ' ') keys.push({ char: c });
  }
  return keys;
}

export function visibleJobs(state: DashboardState): JobView[] {
  const jobs = state.snapshot?.jobs ?? [];
  const needle = state.filter.toLowerCase();
  if (!needle) return jobs;
  return jobs.filter((j) => [j.id, shortRepo(j.repo), j.ref, j.state].some((field) => field.toLowerCase().includes(needle)));
}

function selected(state: DashboardState): JobView | undefined {
  const jobs = visibleJobs(state);
  return jobs.find((j) => j.id === state.selectedId) ?? jobs[0];
}

/** What a key does: the next state, and what the runner must do. */
export function press(state: DashboardState, key: Key): { state: DashboardState; effect?: Effect } {
  const char = typeof key === 'object' ? key.char : undefined;
  if (key === 'interrupt') return { state, effect: { kind: 'quit' } };
  if (state.confirm) {
    const { action, id } = state.confirm;
    const next = { ...state, confirm: undefined };
    if (char === 'y' || char === 'Y')
      return { state: { ...next, message: `${action === 'cancel' ? 'cancelling' : 'retrying'} ${id}…` }, effect: { kind: action, id } };
    return { state: { ...next, message: `${id} not ${action === 'cancel' ? 'cancelled' : 'retried'}` } };
  }
  if (state.filtering) {
    if (key === 'enter') return { state: { ...state, filtering: false } };
    if (key === 'escape') return { state: { ...state, filtering: false, filter: '' } };
    if (key === 'backspace') return { state: { ...state, filter: state.filter.slice(0, -1) } };
    return { state: char ? { ...state, filter: state.filter + char } : state };
  }
  const jobs = visibleJobs(state);
  const current = selected(state);
  const at = current ? jobs.indexOf(current) : -1;
  const move = (by: number) => ({ state: { ...state, selectedId: jobs[Math.min(Math.max(at + by, 0), jobs.length - 1)]?.id } });
  if (key === 'up' || char === 'k') return move(-1);
  if (key === 'down' || char === 'j') return move(1);
  if (key === 'escape') return { state: { ...state, logOf: undefined, log: [], message: undefined } };
  if (char === 'q') return { state, effect: { kind: 'quit' } };
  if (char === '/') return { state: { ...state, filtering: true, message: undefined } };
  if (!current) return { state };
  if (key === 'enter') {
    if (state.logOf === current.id) return { state: { ...state, logOf: undefined, log: [] } };
    return { state: { ...state, logOf: current.id, log: [], selectedId: current.id }, effect: { kind: 'open-log', id: current.id } };
  }
  if (char === 'c' || char === 'r')
    return { state: { ...state, selectedId: current.id, confirm: { action: char === 'c' ? 'cancel' : 'retry', id: current.id }, message: undefined } };
  return { state };
}

interface Column {
  title: string;
  cell(j: JobView, paint: Paint): string;
  /** Shown from this terminal width up. */
  from: number;
}

const COLUMNS: Column[] = [
  { title: 'ID', cell: (j) => j.id, from: 0 },
  { title: 'STATE', cell: (j, p) => paintState(p, j.state), from: 0 },
  { title: 'REPO', cell: (j) => shortRepo(j.repo), from: 40 },
  { title: 'REF', cell: (j) => printable(j.ref.replace(/^refs\/heads\//, '')), from: 60 },
  { title: 'ATTEMPT', cell: (j) => `${j.attempt}/${j.maxAttempts}`, from: 80 },
  { title: 'DURATION', cell: (j) => formatDuration(j.durationMs ?? undefined), from: 70 },
];

function jobTable(jobs: JobView[], current: JobView | undefined, width: number, paint: Paint): string[] {
  const columns = COLUMNS.filter((c) => width >= c.from);
  const [header, ...rows] = table(
    columns.map((c) => c.title),
    jobs.map((j) => columns.map((c) => c.cell(j, paint))),
  );
  return [paint.dim(`  ${header}`), ...rows.map((line, i) => (jobs[i] === current ? paint.inverse(`> ${line.replace(ANSI, '')}`) : `  ${line}`))];
}

const HELP = '↑↓ select  ⏎ log  c cancel  r retry  / filter  esc close  q quit';

/** The whole screen: exactly `height` lines, none wider than `width`. */
export function renderDashboard(state: DashboardState, width: number, height: number, paint: Paint): string[] {
  const s = state.snapshot;
  const top: string[] = [];
  if (!s) top.push(paint.dim('reading the queue…'));
  else {
    const q = s.queue;
    const busy = s.agents.filter((a) => a.jobs.length > 0).length;
    top.push(
      `${paint.bold('raibid')}  waiting ${q.lag ?? '?'}  running ${q.pending}  dead ${q.dead > 0 ? paint.red(String(q.dead)) : '0'}  agents ${s.agents.length} (${busy} busy)  ${paint.dim(s.at.slice(11, 19))}`,
    );
    top.push(
      paint.dim(
        `done ${q.totals.succeeded ?? 0} ok, ${q.totals.failed ?? 0} failed, ${q.totals.cancelled ?? 0} cancelled, ${q.totals.dead ?? 0} dead, ${q.totals.retried ?? 0} retries`,
      ),
    );
    top.push(
      s.agents.length
        ? `agents: ${s.agents.map((a) => `${a.name} ${a.jobs.length ? paint.cyan(a.jobs.join(',')) : `idle ${formatDuration(a.idleMs ?? undefined)}`}`).join('  ')}`
        : paint.dim('agents: none running'),
    );
  }
  const footer = state.confirm
    ? paint.yellow(`${state.confirm.action} ${state.confirm.id}? y/n`)
    : state.filtering
      ? `filter: ${printable(state.filter)}_`
      : `${state.message ? `${state.message}  ` : ''}${state.filter ? `filter "${printable(state.filter)}"  ` : ''}${paint.dim(HELP)}`;
  const jobs = visibleJobs(state);
  const current = selected(state);
  // a short terminal keeps the figures' first line only
  if (height < 12) top.splice(1);
  const bodyHeight = Math.max(0, height - top.length - 1);
  const logHeight = state.logOf ? Math.max(2, Math.floor(bodyHeight / 2)) : 0;
  const listHeight = Math.max(0, bodyHeight - logHeight);
  let list = jobs.length ? jobTable(jobs, current, width, paint) : [paint.dim(state.filter ? '  no job matches the filter' : '  no jobs yet')];
  if (list.length > listHeight && current) {
    // keep the selected row in view below the header
    const index = jobs.indexOf(current) + 1;
    const start = Math.min(Math.max(1, index - listHeight + 2), Math.max(1, list.length - listHeight + 1));
    list = [list[0]!, ...list.slice(start, start + listHeight - 1)];
  }
  const pane: string[] = [];
  if (state.logOf) {
    pane.push(paint.bold(`── log of ${state.logOf} (following; esc closes) `.padEnd(width, '─')));
    const lines = state.log.slice(-(logHeight - 1)).map((l) => formatLogLine(paint, { ...l, line: printable(l.line.replace(ANSI, '')) }));
    pane.push(...(lines.length ? lines : [paint.dim('  no output yet')]));
  }
  const screen = [
    ...top,
    ...list.slice(0, listHeight),
    ...Array(Math.max(0, listHeight - list.length)).fill(''),
    ...pane.slice(0, logHeight),
    ...Array(Math.max(0, logHeight - pane.length)).fill(''),
    footer,
  ];
  return screen.slice(0, height).map((line) => fitWidth(line, width, ''));
}
