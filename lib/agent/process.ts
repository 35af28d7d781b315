import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SpawnedResult {
  exitCode: number;
  signal: NodeJS.Signals | null;
}

const KILL_GRACE_MS = 3000;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

let setprivFound: boolean | undefined;
const hasSetpriv = () => (setprivFound ??= spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0);

/**
 * Under setpriv's parent-death signal, a shell that runs the command in its own process group
 * and kills that whole group when the agent dies (kill -9 included): the build's grandchildren
 * (cargo, rustc, a build.rs) die with it instead of running on as orphans.
 */
const GUARD = 'trap "kill -KILL 0" USR1; "$@" & wait $!';
function guarded(file: string, args: string[]): [string, string[]] {
  return hasSetpriv() ? ['setpriv', ['--pdeathsig', 'USR1', '--', '/bin/sh', '-c', GUARD, 'raibid-guard', file, ...args]] : [file, args];
}

/**
 * Runs `file args` in a process group of its own, streams its output line by line,
 * and on abort or exit kills the whole group so nothing it started lives on; nor when the
 * agent itself dies. `hold` are descriptors the process and its children keep open (a lease).
 */
export function runProcess(
  file: string,
  args: string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    signal: AbortSignal;
    onLine: (line: string, stream: 'out' | 'err') => void;
    hold?: number[];
    /** Runs as this user (the agent is root). */
    user?: { uid: number; gid: number };
  },
): Promise<SpawnedResult> {
  return new Promise((resolve, reject) => {
    const [command, argv] = guarded(file, args);
    const child = spawn(command, argv, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', ...(options.hold ?? [])],
      ...options.user,
    });
    const streams = [
      ['out', child.stdout!],
      ['err', child.stderr!],
    ] as const;
    const closed = streams.map(
      ([name, stream]) =>
        new Promise<void>((done) => {
          const lines = createInterface({ input: stream, crlfDelay: Infinity });
          lines.on('line', (line) => options.onLine(line, name));
          lines.on('close', done);
        }),
    );
    let forceKill: NodeJS.Timeout | undefined;
    const abort = () => {
      killGroup(child, 'SIGTERM');
      forceKill = setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS);
    };
    if (options.signal.aborted) abort();
    else options.signal.addEventListener('abort', abort, { once: true });
    child.on('error', (error) => {
      options.signal.removeEventListener('abort', abort);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      options.signal.removeEventListener('abort', abort);
      clearTimeout(forceKill);
      killGroup(child, 'SIGKILL');
      void Promise.all(closed).then(() => resolve({ exitCode: code ?? 128 + signalNumber(signal), signal }));
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 1;
}
