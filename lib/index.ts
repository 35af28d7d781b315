/**
 * raibid-task as a library: `openFarm()` loads the config and secrets as the CLI does, and its
 * methods run the tasks and return what they did.
 */
export { Farm, openFarm } from './farm.js';
export type { BootstrapRunOptions, DispatchOptions, FarmOptions, MirrorSyncResult, WaitOptions } from './farm.js';
export { STAGES } from './stages.js';
export type { Stage } from './stages.js';
export type { BootstrapResult } from './bootstrap.js';
export type { Config, LoadedConfig } from './config.js';
export { UserError } from './errors.js';
export type { JobState, JobView } from './queue/job.js';
export type { JobInput, LogLine } from './queue/queue.js';
export type { Snapshot } from './queue/snapshot.js';
export type { Progress } from './steps.js';
export type { TeardownResult } from './teardown-run.js';
