import type * as z from 'zod';

type Issue = z.ZodError['issues'][number];

/** One issue as `key.path: what is wrong`. */
function describeIssue(issue: Issue): string {
  if (issue.code === 'unrecognized_keys') return `${[...issue.path, issue.keys[0]].join('.')}: unknown key`;
  const path = issue.path.join('.') || '(top level)';
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return `${path}: required (${issue.expected})`;
  if (issue.code === 'invalid_key') return `${path}: ${issue.issues[0]?.message ?? issue.message}`;
  return `${path}: ${issue.message}`;
}

/**
 * One line for the first problem zod found, as `key.path: what is wrong`. An unknown key is
 * named first: it is usually a typo, and the "required" error beside it follows from it.
 */
export function describeSchemaError(error: z.ZodError): string {
  return describeIssue(error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!);
}

/** Every problem, one line each, unknown keys first (each of them, not only the first of an object). */
export function describeSchemaIssues(error: z.ZodError): string[] {
  const unknown = error.issues.filter((i) => i.code === 'unrecognized_keys').flatMap((i) => i.keys.map((key) => `${[...i.path, key].join('.')}: unknown key`));
  return [...unknown, ...error.issues.filter((i) => i.code !== 'unrecognized_keys').map(describeIssue)];
}
