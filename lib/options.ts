import { UserError } from './errors.js';
import type { TaskInput } from './task.js';

function hintFor(task: string) {
  return `see \`raibid-task ${task} --help\``;
}

export function stringOption(input: TaskInput, task: string, name: string): string | undefined {
  const value = input.values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new UserError(`${task}: --${name} needs a value`, { hint: hintFor(task) });
  }
  return value;
}

export function requiredOption(input: TaskInput, task: string, name: string): string {
  const value = stringOption(input, task, name);
  if (value === undefined) throw new UserError(`${task}: --${name} is required`, { hint: hintFor(task) });
  return value;
}

export function numberOption(input: TaskInput, task: string, name: string, limits: { min: number; max?: number; integer?: boolean }): number | undefined {
  const raw = stringOption(input, task, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const fits =
    Number.isFinite(value) && value >= limits.min && (limits.max === undefined || value <= limits.max) && (!limits.integer || Number.isInteger(value));
  if (!fits) {
    const range = limits.max === undefined ? `at least ${limits.min}` : `from ${limits.min} to ${limits.max}`;
    throw new UserError(`${task}: --${name} '${raw}' is not ${limits.integer ? 'a whole number' : 'a number'} ${range}`, {
      hint: hintFor(task),
    });
  }
  return value;
}

export function flag(input: TaskInput, name: string): boolean {
  return input.values[name] === true;
}
