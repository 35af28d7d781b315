import type { TaskEntry } from '../lib/task.js';

export const TASKS: TaskEntry[] = [
  { name: 'up', summary: 'run the farm on this machine in the foreground: Redis, agents, serve and the live status', load: () => import('./up.js') },
  { name: 'setup', summary: 'ask for what the farm needs and write the config (or take it from flags and env)', load: () => import('./setup.js') },
  { name: 'bootstrap', summary: 'install k3s over SSH, then Gitea, Redis, KEDA, Flux and the agents on it', load: () => import('./bootstrap.js') },
  { name: 'doctor', summary: 'check every part of the farm and say how to fix what is wrong', load: () => import('./doctor.js') },
  { name: 'teardown', summary: 'remove the agents, Flux, KEDA, Redis, Gitea and k3s again, in reverse order', load: () => import('./teardown.js') },
  { name: 'render', summary: 'print the Kubernetes objects bootstrap applies, as YAML', load: () => import('./render.js') },
  { name: 'kubeconfig', summary: "fetch the cluster's kubeconfig and merge it into yours", load: () => import('./kubeconfig.js') },
  { name: 'config', summary: 'show the config tasks use (secrets masked), or validate a config file', load: () => import('./config.js') },
  { name: 'completion', summary: 'print a shell completion script: bash, zsh or fish', load: () => import('./completion.js') },
  { name: 'mirror', summary: 'mirror GitHub repositories into Gitea: list, sync, cron, webhooks', load: () => import('./mirror.js') },
  { name: 'serve', summary: 'receive GitHub and Gitea push webhooks: sync the mirror, queue the build', load: () => import('./serve.js') },
  { name: 'dispatch', summary: 'queue a CI job for a repository at a ref', load: () => import('./dispatch.js') },
  { name: 'jobs', summary: 'list, show, cancel or retry jobs', load: () => import('./jobs.js') },
  { name: 'logs', summary: "print a job's log, or follow it live", load: () => import('./logs.js') },
  { name: 'status', summary: 'the queue, the agents and recent jobs on one screen', load: () => import('./status.js') },
  { name: 'agent', summary: 'run queued jobs on this machine', load: () => import('./agent.js') },
  { name: 'run', summary: 'run the CI pipeline on a local checkout now, without a queue', load: () => import('./run.js') },
];
