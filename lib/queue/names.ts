/** The names KEDA's trigger, the agents and `status` share. Change them here only. */
export const STREAM = 'raibid:jobs';
export const GROUP = 'raibid-agents';
export const DEAD_STREAM = 'raibid:jobs:dead';
export const RECENT = 'raibid:jobs:recent';
export const COUNTERS = 'raibid:jobs:counters';
export const AGENTS = 'raibid:agents';
export const JOB_PREFIX = 'raibid:job:';
export const DEDUPE_PREFIX = 'raibid:dedupe:';
export const ACKS = 'raibid:jobs:acks';
export const STATUS_STREAM = 'raibid:statuses';
export const STATUS_GROUP = 'raibid-serve';
/** The meta field naming the Gitea repository (owner/name) whose commit a job reports on. */
export const STATUS_TARGET = 'gitea.repo';
/** The meta field naming the GitHub repository (owner/name) a mirrored job's commit came from. */
export const GITHUB_TARGET = 'github.repo';
/** What the status reporter has already sent for one event (by sink), kept until the event is acknowledged. */
export const statusSentKey = (entry: string) => `raibid:statuses:sent:${entry}`;

export const jobKey = (id: string) => `${JOB_PREFIX}${id}`;
export const logKey = (id: string) => `${JOB_PREFIX}${id}:log`;
export const agentKey = (name: string) => `raibid:agent:${name}`;

/** The pipeline's working dir inside the checkout, as a job's `meta.dir` holds it. */
export const JOB_DIR_META = 'dir';
