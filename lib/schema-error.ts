import type * as z from 'zod';

/**
 * One line for the first problem zod found, as `key.path: what is wrong`. An unknown key is
 * named first: it is usually a typo, and the "required" error beside it follows from it.
 */
export function describeSchemaError(error: z.ZodError): string {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    return `${[...issue.path, issue.keys[0]].join('.')}: unknown key`;
  }
  const path = issue.path.join('.') || '(top level)';
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return `${path}: required (${issue.expected})`;
  if (issue.code === 'invalid_key') return `${path}: ${issue.issues[0]?.message ?? issue.message}`;
  return `${path}: ${issue.message}`;
}
