import { GLOBAL_FLAGS } from './cli.js';
import { type OptionSpec, type OptionSpecs, describeOption } from './options.js';
import type { Task } from './task.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletionTask {
  name: string;
  summary: string;
  options: OptionSpecs;
  actions: readonly string[];
}

const COMMAND = 'raibid-task';

export function completionTasks(entries: { name: string; task: Task }[], common: OptionSpecs): CompletionTask[] {
  const tasks = entries.map(({ name, task }) => ({ name, summary: task.summary, options: { ...task.options, ...common }, actions: task.actions ?? [] }));
  return [...tasks, { name: 'help', summary: 'show the options of one task', options: {}, actions: entries.map((e) => e.name) }];
}

const choicesOf = (spec: OptionSpec) => (spec.kind === 'string' ? spec.choices : undefined);
const takesFile = (spec: OptionSpec) => spec.kind === 'string' && ['file', 'path'].includes(spec.value ?? '');
const words = (list: readonly string[]) => list.join(' ');
const flagsOf = (t: CompletionTask) => Object.entries(t.options).flatMap(([name, spec]) => [`--${name}`, ...(spec.short ? [`-${spec.short}`] : [])]);
const valueFlags = (t: CompletionTask, which: (spec: OptionSpec) => boolean) =>
  Object.entries(t.options)
    .filter(([, spec]) => spec.kind !== 'boolean' && which(spec))
    .map(([name]) => `--${name}`);

function bash(tasks: CompletionTask[]): string {
  const perTask = tasks.map((t) =>
    [
      `    ${t.name})`,
      `      flags='${words(flagsOf(t))}'`,
      `      values='${words(valueFlags(t, () => true))}'`,
      `      files='${words(valueFlags(t, takesFile))}'`,
      `      actions='${words(t.actions)}' ;;`,
    ].join('\n'),
  );
  const choices = tasks.flatMap((t) =>
    Object.entries(t.options).flatMap(([name, spec]) => {
      const choices = choicesOf(spec);
      return choices ? [`    '${t.name} --${name}') COMPREPLY=($(compgen -W '${words(choices)}' -- "$cur")); return ;;`] : [];
    }),
  );
  return `# ${COMMAND} completion for bash: source <(${COMMAND} completion bash), e.g. from ~/.bashrc
_raibid_task() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if (( COMP_CWORD == 1 )); then
    COMPREPLY=($(compgen -W '${words([...tasks.map((t) => t.name), ...GLOBAL_FLAGS.flatMap((f) => [`-${f.short}`, `--${f.long}`])])}' -- "$cur"))
    return
  fi
  local flags='' values='' files='' actions=''
  case "\${COMP_WORDS[1]}" in
${perTask.join('\n')}
    *) return ;;
  esac
  case "\${COMP_WORDS[1]} $prev" in
${choices.join('\n')}
  esac
  if [[ " $files " == *" $prev "* ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
  if [[ " $values " == *" $prev "* ]]; then COMPREPLY=(); return; fi
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return; fi
  local i positionals=0
  for (( i = 2; i < COMP_CWORD; i++ )); do
    if [[ "\${COMP_WORDS[i]}" == -* ]]; then
      [[ " $values " == *" \${COMP_WORDS[i]} "* ]] && (( i++ ))
    else
      (( positionals++ ))
    fi
  done
  COMPREPLY=()
  if (( positionals == 0 )) && [[ -n "$actions" ]]; then COMPREPLY=($(compgen -W "$actions" -- "$cur")); fi
}
complete -F _raibid_task ${COMMAND}
`;
}

const zshQuote = (text: string) => text.replace(/'/g, `'\\''`);
const zshDescription = (text: string) => zshQuote(text.replace(/[\\[\]:]/g, (c) => `\\${c}`));

function zshOption(name: string, spec: OptionSpec): string {
  const eq = spec.kind === 'boolean' ? '' : '=';
  const head = spec.short ? `'(-${spec.short} --${name})'{-${spec.short},--${name}${eq}}'` : `'--${name}${eq}`;
  const choices = choicesOf(spec);
  const action = choices ? `(${choices.join(' ')})` : takesFile(spec) ? '_files' : '';
  const argument = spec.kind === 'boolean' ? '' : `:${zshDescription(spec.value ?? 'value')}:${action}`;
  return `${head}[${zshDescription(describeOption(spec))}]${argument}'`;
}

function zsh(tasks: CompletionTask[]): string {
  const described = tasks.map((t) => `    '${t.name}:${zshQuote(t.summary)}'`);
  const perTask = tasks.map((t) => {
    const specs = Object.entries(t.options).map(([name, spec]) => `        ${zshOption(name, spec)}`);
    if (t.actions.length > 0) specs.push(`        '1:action:(${t.actions.join(' ')})'`);
    return `    ${t.name})\n      _arguments -s \\\n${[...specs, "        '*:: :'"].join(' \\\n')} ;;`;
  });
  return `#compdef ${COMMAND}
# ${COMMAND} completion for zsh: source <(${COMMAND} completion zsh) after compinit, or save it as _${COMMAND} in a directory of $fpath
_raibid_task() {
  local -a tasks
  tasks=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t tasks '${COMMAND} task' tasks
    return
  fi
  local task=$words[2]
  shift words
  (( CURRENT-- ))
  case $task in
${perTask.join('\n')}
  esac
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _raibid_task "$@"
else
  compdef _raibid_task ${COMMAND}
fi
`;
}

const fishQuote = (text: string) => `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;

function fish(tasks: CompletionTask[]): string {
  const lines = [
    `# ${COMMAND} completion for fish: ${COMMAND} completion fish > ~/.config/fish/completions/${COMMAND}.fish`,
    'function __raibid_task_is',
    '  set -l words (commandline -opc)',
    '  test (count $words) -ge 2; and test $words[2] = $argv[1]',
    'end',
    'function __raibid_task_wants_action',
    '  set -l words (commandline -opc)',
    '  test (count $words) -eq 2; and test $words[2] = $argv[1]',
    'end',
    `complete -c ${COMMAND} -f`,
    ...GLOBAL_FLAGS.map((f) => `complete -c ${COMMAND} -n __fish_use_subcommand -s ${f.short} -l ${f.long} -d ${fishQuote(f.description)}`),
  ];
  for (const t of tasks) {
    lines.push(`complete -c ${COMMAND} -n __fish_use_subcommand -a ${t.name} -d ${fishQuote(t.summary)}`);
    const when = fishQuote(`__raibid_task_is ${t.name}`);
    for (const [name, spec] of Object.entries(t.options)) {
      const choices = choicesOf(spec);
      const argument = spec.kind === 'boolean' ? '' : takesFile(spec) ? ' -r -F' : choices ? ` -x -a ${fishQuote(choices.join(' '))}` : ' -x';
      lines.push(`complete -c ${COMMAND} -n ${when}${spec.short ? ` -s ${spec.short}` : ''} -l ${name}${argument} -d ${fishQuote(describeOption(spec))}`);
    }
    if (t.actions.length > 0) lines.push(`complete -c ${COMMAND} -n ${fishQuote(`__raibid_task_wants_action ${t.name}`)} -a ${fishQuote(t.actions.join(' '))}`);
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, tasks: CompletionTask[]): string {
  return { bash, zsh, fish }[shell](tasks);
}
