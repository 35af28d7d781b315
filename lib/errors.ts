export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An error the user can act on: printed as one line plus a hint, never with a stack. */
export class UserError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number } = {}) {
    super(message);
    this.name = 'UserError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT_USAGE;
  }
}

/** Something outside the user's input failed (a server down, a remote error): exit 1. */
export function failure(message: string, hint?: string): UserError {
  return new UserError(message, { hint, exitCode: EXIT_FAILURE });
}
