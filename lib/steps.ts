import { Listr, type ListrTask } from 'listr2';
import { type UserError, failure } from './errors.js';

/** How a run shows its steps: spinners at a terminal, plain lines for cron mail, or nothing (--json). */
export type Progress = 'interactive' | 'plain' | 'none';

/** One step of a task, a plain record; C is what its run reads and writes (config, connections, what earlier steps found). */
export interface Step<C> {
  title: string | ((context: C) => string);
  /** The step's work; a string it returns is its closing title, shown once its children have ended too. */
  run?: (context: C, report: (line: string) => void) => Promise<string | void>;
  /** Shown as skipped, and not run. */
  skip?: (context: C) => boolean;
  /** Run after `run`, one after another, a failure stopping them. */
  children?: Step<C>[] | ((context: C) => Step<C>[]);
  /** The children all at once: one failing does not stop the others, and their errors are thrown together once all have ended. */
  concurrent?: boolean;
}

const RENDERERS = { interactive: 'default', plain: 'simple', none: 'silent' } as const;

export function progressFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Progress {
  return stream.isTTY && !env.CI ? 'interactive' : 'plain';
}

/** One error as it is; several as one failure, their messages a line each, with the first one's hint. */
function together(errors: unknown[]): unknown {
  return errors.length === 1 ? errors[0] : failure(errors.map((e) => (e as Error).message).join('\n'), (errors[0] as UserError).hint);
}

/** A step's children as listr2 runs subtasks, with the step's own ending once they have all ended. */
class Children extends Listr {
  constructor(
    tasks: ListrTask[],
    concurrent: boolean,
    parent: Listr['tasks'][number],
    private readonly around: (run: () => Promise<unknown>) => Promise<void>,
  ) {
    super(tasks, { concurrent, exitOnError: !concurrent }, parent);
  }

  override async run(context?: unknown) {
    await this.around(() => super.run(context));
    return this.ctx;
  }
}

function toTask<C>(step: Step<C>, context: C, failed?: unknown[]): ListrTask {
  const record = (error: unknown): never => {
    failed?.push(error);
    throw error;
  };
  return {
    title: typeof step.title === 'function' ? step.title(context) : step.title,
    skip: step.skip && (() => step.skip!(context)),
    task: async (_, task) => {
      const outcome = await Promise.resolve(step.run?.(context, (line) => (task.output = line))).catch(record);
      const close = () => void (outcome && (task.title = outcome));
      const children = typeof step.children === 'function' ? step.children(context) : (step.children ?? []);
      if (children.length === 0) return close();
      const failures: unknown[] = [];
      const tasks = children.map((child) => toTask(child, context, step.concurrent ? failures : undefined));
      return new Children(tasks, step.concurrent ?? false, task.task, async (run) => {
        await run().catch(record);
        if (failures.length > 0) record(together(failures));
        close();
      });
    },
  };
}

/** The steps as a listr2 list, to run or to embed in a list of one's own (return it from a task). */
export function toListr<C>(steps: Step<C>[], context: C, options: { progress: Progress }) {
  return new Listr(
    steps.map((step) => toTask(step, context)),
    { concurrent: false, exitOnError: true, renderer: RENDERERS[options.progress], fallbackRenderer: 'simple' },
  );
}

export type StepList = ReturnType<typeof toListr>;

/** Runs a list of steps in order, the first failure stopping it; each step's closing title (its title if it set none), in order. */
export async function runList(list: StepList): Promise<string[]> {
  await list.run();
  return list.tasks.map((t) => t.title ?? '');
}

export const runSteps = <C>(steps: Step<C>[], context: C, options: { progress: Progress }) => runList(toListr(steps, context, options));
