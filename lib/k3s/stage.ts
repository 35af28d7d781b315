import { parse } from 'yaml';
import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { type HostRole, K3S_PATHS, type K3sAction, agentConfig, decide, serverConfig } from './plan.js';
import { type AirgapFiles, type RemoteHost, type RemoteStep, k3sSteps } from './remote.js';

export interface HostOutcome {
  address: string;
  role: HostRole;
  action: K3sAction;
  steps: RemoteStep[];
  /** The node-name it had before this run changed it: k3s registers a new Node, the old one stays behind NotReady. */
  renamedFrom?: string;
}

const nodeName = (config: string | undefined) =>
  config ? ((parse(config) as Record<string, unknown> | null)?.['node-name'] as string | undefined) : undefined;

export interface K3sStageOptions {
  dryRun?: boolean;
  airgap?: AirgapFiles;
  /** Called for each host once its plan is known, before it is applied. */
  onPlan?: (outcome: HostOutcome) => void;
}

async function converge(host: RemoteHost, role: HostRole, config: string, version: string, options: K3sStageOptions, token?: string): Promise<HostOutcome> {
  const facts = await host.facts();
  const tokenFile = `${token}\n`;
  const tokenHash = token ? createHash('sha256').update(tokenFile).digest('hex') : undefined;
  const action = decide({ role, version, config, tokenHash }, facts);
  const planned = k3sSteps(action, { role, version, config, arch: facts.arch, airgap: options.airgap });
  const writeToken: RemoteStep = { kind: 'write', path: K3S_PATHS.token, mode: '0600', content: tokenFile, describe: 'write the join token' };
  const steps = token !== undefined && ['install', 'repair', 'rejoin'].includes(action.kind) ? [writeToken, ...planned] : planned;
  const [before, after] = [nodeName(facts.config), nodeName(config)];
  const renamed = action.kind !== 'unchanged' && before !== undefined && after !== undefined && before !== after;
  const outcome = { address: host.ssh.target.address, role, action, steps, ...(renamed ? { renamedFrom: before } : {}) };
  options.onPlan?.(outcome);
  if (!options.dryRun) for (const step of steps) await host.apply(step);
  return outcome;
}

/**
 * The config with each host's address as ssh resolves it: an ~/.ssh/config alias would reach
 * k3s as `server:` and `tls-san`, where no other machine can resolve it.
 */
export async function resolveAddresses(config: Config, server: RemoteHost, workers: RemoteHost[]): Promise<Config> {
  const [host, ...nodes] = await Promise.all([server, ...workers].map((h) => h.ssh.hostname()));
  return { ...config, host: { ...config.host!, address: host! }, nodes: config.nodes.map((n, i) => ({ ...n, address: nodes[i] ?? n.address })) };
}

/**
 * The server first, then each worker joined with the server's agent token (read over SSH,
 * written to the worker as a 0600 file, never printed). Hosts already as planned are left alone.
 */
export async function k3sStage(given: Config, server: RemoteHost, workers: RemoteHost[], options: K3sStageOptions = {}): Promise<HostOutcome[]> {
  const config = await resolveAddresses(given, server, workers);
  const version = config.k3s.version;
  const outcomes = [await converge(server, 'server', serverConfig(config), version, options)];
  if (workers.length === 0) return outcomes;
  // the agent token joins nodes and nothing more; a server older than k3s 1.26 has only node-token
  const token = options.dryRun && outcomes[0]!.action.kind === 'install' ? '' : (await server.readFirst([K3S_PATHS.agentToken, K3S_PATHS.nodeToken])).trim();
  const serverAddress = config.host!.address;
  for (const [i, worker] of workers.entries()) {
    const node = config.nodes[i]!;
    outcomes.push(await converge(worker, 'agent', agentConfig(node, serverAddress), version, options, token));
  }
  return outcomes;
}
