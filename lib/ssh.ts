import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config.js';
import { failure } from './errors.js';
import { expandHome } from './paths.js';
import { sh, withInput } from './local-commands.js';
import { commandLine } from './shell.js';

export interface SshTarget {
  address: string;
  port?: number;
  user?: string;
  identityFile?: string;
}

export interface SshOptions {
  connectTimeoutSeconds?: number;
  /** Instead of ~/.ssh/config (tests, or a config of the user's choosing). */
  configFile?: string;
  /** Instead of ~/.ssh/known_hosts. */
  knownHostsFile?: string;
}

export interface RemoteResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A host the k3s steps run on: over SSH, or this machine (lib/local.ts). */
export interface HostSession {
  readonly target: SshTarget;
  exec(argv: readonly string[], options?: { input?: string | Buffer; timeoutMs?: number }): Promise<RemoteResult>;
  run(argv: readonly string[], options?: { input?: string | Buffer; timeoutMs?: number }): Promise<string>;
  /** The name other machines reach it by. */
  hostname(): Promise<string>;
  close(): Promise<void>;
}

const CONNECTION_FAILED = 255;

/**
 * Runs a program with `input` on stdin and collects what it printed; past `timeoutMs` it is
 * killed (code 124).
 */
export async function collect(command: string, args: readonly string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RemoteResult> {
  const output = await sh({ ...withInput(options.input), timeout: options.timeoutMs, timeoutSignal: 'SIGKILL' })`${command} ${[...args]}`;
  return { code: output.exitCode ?? (output.signal ? 124 : 1), stdout: output.stdout, stderr: output.stderr };
}

/** The line a failed command's stderr ends with, else its exit code. */
export const failureReason = (result: RemoteResult) => result.stderr.trim().split('\n').at(-1) || `exit ${result.code}`;

/** What ssh's stderr says went wrong, as a one-line error with a hint. */
export function explainSshFailure(target: SshTarget, stderr: string, timeoutSeconds: number) {
  const where = `${target.user ? `${target.user}@` : ''}${target.address}${target.port ? `:${target.port}` : ''}`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/i.test(stderr)) {
    return failure(
      `ssh ${where}: the host key has changed since it was first accepted; refusing to connect`,
      `if the host was reinstalled, remove its old key with \`ssh-keygen -R ${target.address}\`; otherwise someone may be intercepting the connection`,
    );
  }
  if (/Permission denied/i.test(stderr)) {
    return failure(
      `ssh ${where}: permission denied (the key was not accepted)`,
      target.identityFile
        ? `check that ${target.identityFile} is authorized for ${target.user ?? 'that user'} on the host (ssh-copy-id)`
        : 'set host.identityFile, or load the key into ssh-agent, and authorize it on the host (ssh-copy-id)',
    );
  }
  if (/timed out|Connection refused|No route to host|Could not resolve|Network is unreachable|Connection closed/i.test(stderr)) {
    const reason = stderr.trim().split('\n').at(-1) ?? 'no connection';
    return failure(
      `ssh ${where}: unreachable (${reason.replace(/^ssh: /, '')})`,
      `is the host up and sshd listening on port ${target.port ?? 22}? (tried for ${timeoutSeconds} s)`,
    );
  }
  return failure(`ssh ${where}: ${stderr.trim().split('\n').at(-1) || 'connection failed'}`, 'run `ssh` to the host by hand to see more');
}

/**
 * Commands on one host over the system OpenSSH client, through one multiplexed connection
 * (ControlMaster) whose socket lives in a private temp dir and is closed by close(). Host
 * keys are verified: new ones accepted once, changed ones refused. ~/.ssh/config, the agent
 * and ProxyJump apply as they do for ssh itself.
 */
export class SshSession implements HostSession {
  private readonly controlDir = mkdtempSync(join(tmpdir(), 'raibid-ssh-'));
  private readonly timeoutSeconds: number;
  private resolved: Promise<string> | undefined;

  constructor(
    readonly target: SshTarget,
    private readonly options: SshOptions = {},
  ) {
    this.timeoutSeconds = options.connectTimeoutSeconds ?? 10;
  }

  get controlPath(): string {
    return join(this.controlDir, 'master');
  }

  private baseArgs(): string[] {
    const o = this.options;
    return [
      ...(o.configFile ? ['-F', o.configFile] : []),
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=accept-new',
      ...(o.knownHostsFile ? ['-o', `UserKnownHostsFile=${o.knownHostsFile}`] : []),
      '-o',
      `ConnectTimeout=${this.timeoutSeconds}`,
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      `ControlPath=${this.controlPath}`,
      '-o',
      'ControlMaster=auto',
      '-o',
      'ControlPersist=yes',
      ...(this.target.port ? ['-p', String(this.target.port)] : []),
      ...(this.target.user ? ['-l', this.target.user] : []),
      ...(this.target.identityFile ? ['-i', this.target.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    ];
  }

  private ssh(args: string[], input?: string | Buffer, timeoutMs?: number): Promise<RemoteResult> {
    return collect('ssh', [...this.baseArgs(), ...args], { input, timeoutMs });
  }

  /** The arguments of the `ssh` that runs `argv` on the host, each word quoted on our side. */
  commandArgs(argv: readonly string[]): string[] {
    return [...this.baseArgs(), '--', this.target.address, commandLine(argv)];
  }

  /** Runs `argv` on the host and returns what it printed. */
  async exec(argv: readonly string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RemoteResult> {
    const command = () => collect('ssh', this.commandArgs(argv), options);
    let result = await command();
    if (result.code === CONNECTION_FAILED && /Connection closed|Broken pipe|mux_client|Control socket/i.test(result.stderr)) {
      await this.ssh(['-O', 'exit', this.target.address]).catch(() => undefined);
      result = await command();
    }
    if (result.code === CONNECTION_FAILED && !(await this.isConnected())) {
      throw explainSshFailure(this.target, result.stderr, this.timeoutSeconds);
    }
    return result;
  }

  /** exec() that fails unless the command exits 0, with its stderr in the message. */
  async run(argv: readonly string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
    const result = await this.exec(argv, options);
    if (result.code !== 0) throw failure(`on ${this.target.address}: \`${commandLine(argv)}\` failed: ${failureReason(result)}`);
    return result.stdout;
  }

  async connect(): Promise<void> {
    const result = await this.ssh(['-N', '-f', this.target.address]);
    if (result.code !== 0) throw explainSshFailure(this.target, result.stderr, this.timeoutSeconds);
  }

  /**
   * The host name ssh really connects to (`ssh -G`): an ~/.ssh/config alias resolved through its
   * HostName. Other machines (the workers, the kubeconfig) need this name, not the alias.
   */
  hostname(): Promise<string> {
    this.resolved ??= this.ssh(['-G', this.target.address]).then((result) => {
      const name = result.stdout.match(/^hostname (\S+)$/m)?.[1];
      if (result.code !== 0 || !name)
        throw failure(
          `cannot resolve ${this.target.address} through the ssh config: ${result.stderr.trim() || `exit ${result.code}`}`,
          'set host.address to the host name or address',
        );
      return name;
    });
    return this.resolved;
  }

  async isConnected(): Promise<boolean> {
    return (await this.ssh(['-O', 'check', this.target.address])).code === 0;
  }

  /** Writes `content` to `path` on the host with `mode`, replacing it in one step. */
  async upload(content: string | Buffer, path: string, mode = '0644'): Promise<void> {
    const partial = `${path}.raibid-partial`;
    await this.run(['sh', '-c', 'cat > "$1" && chmod "$2" "$1" && mv -f "$1" "$3"', 'upload', partial, mode, path], {
      input: content,
    });
  }

  async close(): Promise<void> {
    await this.ssh(['-O', 'exit', this.target.address]).catch(() => undefined);
    rmSync(this.controlDir, { recursive: true, force: true });
  }
}

/** An SSH session to one of the config's hosts, with the config's ssh settings. */
export function sshSession(config: Config, host: NonNullable<Config['host']>): SshSession {
  return new SshSession(
    { address: host.address, port: host.port, user: host.user, identityFile: host.identityFile && expandHome(host.identityFile) },
    {
      connectTimeoutSeconds: config.ssh.connectTimeoutSeconds,
      configFile: config.ssh.configFile && expandHome(config.ssh.configFile),
      knownHostsFile: config.ssh.knownHostsFile && expandHome(config.ssh.knownHostsFile),
    },
  );
}
