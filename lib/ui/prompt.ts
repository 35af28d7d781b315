import enquirer from 'enquirer';

/** The one place prompts are made (the only module that imports enquirer). */
export interface PromptSpec {
  name: string;
  message: string;
  initial?: string;
  secret?: boolean;
  validate?: (value: string) => string | undefined;
}

export async function ask(spec: PromptSpec): Promise<string> {
  const answer = await enquirer.prompt<Record<string, string>>({
    type: spec.secret ? 'password' : 'input',
    name: spec.name,
    message: spec.message,
    initial: spec.initial,
    validate: (value: string) => spec.validate?.(value) ?? true,
  });
  return String(answer[spec.name] ?? '').trim();
}
