import { UserError, failure } from '../errors.js';
import { NOT_FOUND, sh, withInput } from '../local-commands.js';
import { quote } from '../shell.js';

export const CRON_MARKER = '# raibid-task mirror sync';
export const DEFAULT_SCHEDULE = '*/15 * * * *';

export function checkSchedule(schedule: string): string {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => /^[\d*/,-]+$/.test(f))) {
    throw new UserError(`mirror cron: '${schedule}' is not a cron schedule`, { hint: 'five fields: minute hour day month weekday, e.g. "*/15 * * * *"' });
  }
  return fields.join(' ');
}

/** The crontab line: the same node and CLI as now, the config by absolute path, output to a log. */
export function cronLine(schedule: string, argv: string[], log: string): string {
  return `${schedule} ${argv.map(quote).join(' ')} >> ${quote(log)} 2>&1 ${CRON_MARKER}`;
}

/** The crontab with our line in place of any earlier one (or without it when line is undefined). */
export function withCronLine(crontab: string, line: string | undefined): string {
  const kept = crontab.split('\n').filter((l) => l !== '' && !l.endsWith(CRON_MARKER));
  return [...kept, ...(line ? [line] : [])].map((l) => `${l}\n`).join('');
}

const notInstalled = () => failure('crontab is not installed', 'apt-get install cron (or add the line to your scheduler by hand)');

export function readCrontab(): string {
  const result = sh({ sync: true })`crontab -l`;
  if (result.exitCode === NOT_FOUND) throw notInstalled();
  if (result.exitCode !== 0) {
    if (/no crontab/i.test(result.stderr)) return '';
    throw failure(`crontab -l failed: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

export function writeCrontab(text: string): void {
  const result = sh({ sync: true, ...withInput(text) })`crontab -`;
  if (result.exitCode === NOT_FOUND) throw notInstalled();
  if (result.exitCode !== 0) throw failure(`crontab - failed: ${result.stderr.trim()}`);
}
