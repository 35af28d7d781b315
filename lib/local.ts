import { userInfo } from 'node:os';
import type { Config } from './config.js';
import { UserError, failure } from './errors.js';
import { type HostSession, type RemoteResult, type SshTarget, collect, failureReason, sshSession } from './ssh.js';
import { commandLine } from './shell.js';

/** `host.address: localhost` means this machine: the same steps, run here without SSH. */
export const isLocalAddress = (address: string) => address === 'localhost';

/** This machine as a host: each command run directly (no shell), root through `sudo -n` as over SSH. */
export class LocalSession implements HostSession {
  readonly target: SshTarget;

  constructor(address = 'localhost') {
    this.target = { address, user: userInfo().username };
  }

  async exec(argv: readonly string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RemoteResult> {
    try {
      return await collect(argv[0]!, argv.slice(1), options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return { code: 127, stdout: '', stderr: `${argv[0]}: not found` };
    }
  }

  async run(argv: readonly string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
    const result = await this.exec(argv, options);
    if (result.code !== 0) throw failure(`on this machine: \`${commandLine(argv)}\` failed: ${failureReason(result)}`);
    return result.stdout;
  }

  async hostname(): Promise<string> {
    return this.target.address;
  }

  async close(): Promise<void> {}
}

/**
 * The session a configured host is reached by: this machine for `localhost` (or the server with
 * `--local`), else SSH. A local server with workers needs the address they reach it at.
 */
export function hostSession(config: Config, host: NonNullable<Config['host']>, options: { local?: boolean } = {}): HostSession {
  const local = options.local || isLocalAddress(host.address);
  if (!local) return sshSession(config, host);
  if (isLocalAddress(host.address) && config.nodes.length > 0 && host === config.host) {
    throw new UserError('host.address: localhost cannot be joined by workers', {
      hint: 'set host.address to the address the workers reach this machine at, and run `bootstrap --local` on it',
    });
  }
  return new LocalSession(host.address);
}
