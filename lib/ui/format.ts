import chalk, { Chalk } from 'chalk';
import type { JobState } from '../queue/job.js';

/** Colour only for a person at a terminal: not in pipes, cron mail, CI or with NO_COLOR. */
export function painter(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv) {
  const plain = !stream.isTTY || Boolean(env.CI) || 'NO_COLOR' in env;
  return plain ? new Chalk({ level: 0 }) : chalk;
}

export type Paint = ReturnType<typeof painter>;

export function paintState(paint: Paint, state: JobState | string): string {
  switch (state) {
    case 'succeeded':
      return paint.green(state);
    case 'failed':
    case 'dead':
      return paint.red(state);
    case 'running':
      return paint.cyan(state);
    case 'cancelled':
      return paint.yellow(state);
    default:
      return paint.dim(state);
  }
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

// eslint-disable-next-line no-control-regex
export const ANSI = /\x1b\[[0-9;]*m/g;
export const visibleLength = (text: string) => text.replace(ANSI, '').length;

/** The terminal's second screen (as less and top use), the cursor hidden: leaving it gives the scrollback back as it was. */
export const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h\x1b[?25l';
export const LEAVE_ALTERNATE_SCREEN = '\x1b[?25h\x1b[?1049l';

export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;

/** Whether text from outside holds control characters (a terminal escape sequence starts with one). */
export const hasControlCharacters = (text: string) => text.search(CONTROL) !== -1;

/** Text from outside (a repo URL, a ref) made safe for a terminal: control characters and escape sequences shown as \xNN. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A repo as people say it: owner/name for URLs, the last path parts for local paths. */
export function shortRepo(repo: string): string {
  const trimmed = repo.replace(/\.git$/, '').replace(/\/+$/, '');
  const parts = trimmed.split(/[/:]/).filter(Boolean);
  return printable(parts.slice(-2).join('/'));
}

/** One log line as `logs` and `run` print it: time, [step], text. */
export function formatLogLine(paint: Paint, line: { ts: number; step: string; stream: string; line: string }): string {
  const time = new Date(line.ts).toISOString().slice(11, 19);
  const text = line.stream === 'raibid' ? paint.dim(line.line) : line.stream === 'err' ? paint.yellow(line.line) : line.line;
  return `${paint.dim(time)} ${paint.cyan(`[${line.step}]`)} ${text}`;
}

/** A line cut to `columns` visible characters, ending in `marker` when cut; colour codes kept up to the cut, then closed with a reset. */
export function fitWidth(line: string, columns: number, marker = '…'): string {
  if (visibleLength(line) <= columns) return line;
  const room = Math.max(0, columns - marker.length);
  let out = '';
  let shown = 0;
  // eslint-disable-next-line no-control-regex
  for (const part of line.split(/(\x1b\[[0-9;]*m)/)) {
    if (part.startsWith('\x1b[')) out += part;
    else {
      const text = part.slice(0, room - shown);
      out += text;
      shown += text.length;
      if (shown === room) break;
    }
  }
  return `${out}${marker}${line.includes('\x1b[') ? '\x1b[0m' : ''}`;
}
