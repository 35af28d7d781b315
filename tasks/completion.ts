import { COMMON_OPTIONS } from '../lib/cli.js';
import { SHELLS, type Shell, completionScript, completionTasks } from '../lib/completion.js';
import { UserError } from '../lib/errors.js';
import { defineTask } from '../lib/task.js';
import { TASKS } from './index.js';

export default defineTask({
  summary: 'print a shell completion script: bash, zsh or fish',
  usage: ['completion bash|zsh|fish'],
  details:
    'Completes tasks, their actions and flags, and the values some flags take, from the same\n' +
    'definitions the CLI parses with. Install it once:\n' +
    "  bash: echo 'source <(raibid-task completion bash)' >> ~/.bashrc\n" +
    "  zsh:  echo 'source <(raibid-task completion zsh)' >> ~/.zshrc   (after compinit)\n" +
    '  fish: raibid-task completion fish > ~/.config/fish/completions/raibid-task.fish',
  options: {},
  positionals: 1,
  actions: SHELLS,
  async run(input) {
    const shell = input.positionals[0] as Shell | undefined;
    if (!shell) throw new UserError('completion: which shell?', { hint: `raibid-task completion ${SHELLS.join('|')}` });
    const entries = await Promise.all(TASKS.map(async (entry) => ({ name: entry.name, task: (await entry.load()).default })));
    input.io.stdout.write(completionScript(shell, completionTasks(entries, COMMON_OPTIONS)));
    return 0;
  },
});
