import type { TaskEntry } from '../lib/task.js';

/** What cluster pods run from the one-file bundle: nothing that needs kubectl-side libraries. */
export const POD_TASKS: TaskEntry[] = [
  { name: 'agent', summary: 'run queued jobs in this pod', load: () => import('./agent.js') },
  { name: 'serve', summary: 'receive push webhooks in this pod', load: () => import('./serve.js') },
];
