import enquirer from 'enquirer';

/** The one place prompts are made (the only module that imports enquirer). */
export interface PromptSpec {
  name: string;
  message: string;
  initial?: string;
  secret?: boolean;
  validate?: (value: string) => string | undefined;
}

/** The user pressed Ctrl-C (or Esc) at a prompt. */
export class PromptCancelled extends Error {
  constructor() {
    super('cancelled at a prompt');
  }
}

/** Asks until `validate` passes (its message shown under the answer); Ctrl-C rejects with PromptCancelled. */
export async function ask(spec: PromptSpec): Promise<string> {
  try {
    const answer = await enquirer.prompt<Record<string, string>>({
      type: spec.secret ? 'password' : 'input',
      name: spec.name,
      message: spec.message,
      initial: spec.initial,
      validate: (value: string) => spec.validate?.(value) ?? true,
    });
    return String(answer[spec.name] ?? '').trim();
  } catch (error) {
    // enquirer rejects a cancelled prompt with no error at all (an empty string)
    if (!(error instanceof Error)) throw new PromptCancelled();
    throw error;
  }
}
