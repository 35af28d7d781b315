import { isIpAddress } from '../hosts.js';
import { stringify } from 'yaml';
import type { Config } from '../config.js';

/** Where k3s keeps what the plan manages, relative to the host's root. */
export const K3S_PATHS = {
  config: '/etc/rancher/k3s/config.yaml',
  token: '/etc/rancher/k3s/raibid-token',
  kubeconfig: '/etc/rancher/k3s/k3s.yaml',
  nodeToken: '/var/lib/rancher/k3s/server/node-token',
  /** Joins agents only (k3s ≥ 1.26); node-token also grants the server's full admin. */
  agentToken: '/var/lib/rancher/k3s/server/agent-token',
  binary: '/usr/local/bin/k3s',
} as const;

/**
 * Kubelet reservations sized for a DGX Spark (20 Arm cores, 128 GB unified memory shared with
 * the GPU): enough for the OS, sshd and containerd to stay responsive under 8 parallel builds.
 */
export const DGX_SPARK_RESERVATIONS = [
  'system-reserved=cpu=1,memory=4Gi',
  'kube-reserved=cpu=1,memory=2Gi',
  // eviction-hard replaces the kubelet's defaults as a whole: keep an image-disk threshold too
  'eviction-hard=memory.available<2Gi,nodefs.available<10%,imagefs.available<15%',
];

export type HostRole = 'server' | 'agent';

/** What systemd says of a k3s unit on the host. */
export interface ServiceFacts {
  /** install.sh wrote its unit file. */
  unit: boolean;
  active: boolean;
  /** When it last became active (epoch seconds), if it did. */
  startedAt?: number;
}

export const SERVICE: Record<HostRole, string> = { server: 'k3s', agent: 'k3s-agent' };
export const UNINSTALL_SCRIPT: Record<HostRole, string> = { server: '/usr/local/bin/k3s-uninstall.sh', agent: '/usr/local/bin/k3s-agent-uninstall.sh' };

export interface HostFacts {
  /** The host's architecture as k3s names it (arm64, amd64). */
  arch: string;
  /** `k3s --version`'s release, e.g. v1.33.5+k3s1; undefined when k3s is not installed. */
  version?: string;
  /** The current /etc/rancher/k3s/config.yaml, when there is one. */
  config?: string;
  /** When the k3s binary last changed (epoch seconds). */
  binaryChangedAt?: number;
  services: Record<HostRole, ServiceFacts>;
  /** Which of install.sh's uninstall scripts are there. */
  uninstallers: Record<HostRole, boolean>;
  /** sha256 of a worker's join token file, when there is one (the token itself never leaves the host). */
  tokenHash?: string;
}

export type K3sAction =
  | { kind: 'install'; reason: string }
  | { kind: 'upgrade'; reason: string }
  /** install.sh did not finish (no unit, no uninstall script, the service not running): run it again. */
  | { kind: 'repair'; reason: string }
  /** The binary is the wanted one but the running service started before it was replaced. */
  | { kind: 'restart'; reason: string }
  | { kind: 'reconfigure'; reason: string }
  /** A worker whose join token is not the server's: the token is written again and the agent restarted. */
  | { kind: 'rejoin'; reason: string }
  | { kind: 'unchanged'; reason: string };

export function parseK3sVersion(output: string): string | undefined {
  return output.match(/k3s version (v\S+)/)?.[1];
}

/** A literal IPv4 or IPv6 address; k3s takes only those as node-ip. */

/** Every name the API server is reached by: the hosts, the fabric, and k3s.apiUrl's host. */
function serverNames(config: Config): string[] {
  const api = config.k3s.apiUrl ? new URL(config.k3s.apiUrl).hostname.replace(/^\[|\]$/g, '') : undefined;
  const addresses = [config.host?.address, ...config.nodes.map((n) => n.address), api];
  return [...new Set(addresses.filter((a): a is string => Boolean(a)))];
}

/** /etc/rancher/k3s/config.yaml for the server: settings as keys, not long flags. */
export function serverConfig(config: Config): string {
  return stringify({
    'write-kubeconfig-mode': '0600',
    'tls-san': serverNames(config),
    ...(config.host?.name ? { 'node-name': config.host.name } : {}),
    'node-label': ['raibid.dev/role=server'],
    'kubelet-arg': DGX_SPARK_RESERVATIONS,
  });
}

/** The same for a worker; its join token is a file beside it, never in the plan. */
export function agentConfig(node: Config['nodes'][number], serverAddress: string): string {
  return stringify({
    server: `https://${serverAddress}:6443`,
    'token-file': K3S_PATHS.token,
    ...(node.name ? { 'node-name': node.name } : {}),
    ...(isIpAddress(node.address) ? { 'node-ip': node.address } : {}),
    'node-label': ['raibid.dev/role=worker'],
    'kubelet-arg': DGX_SPARK_RESERVATIONS,
  });
}

/** What to do on a host, given what is there: same version, a running service and the same config → nothing runs. */
export function decide(desired: { role: HostRole; version: string; config: string; tokenHash?: string }, facts: HostFacts): K3sAction {
  if (!facts.version) return { kind: 'install', reason: `k3s ${desired.version} is not installed` };
  if (facts.version !== desired.version) {
    return { kind: 'upgrade', reason: `k3s ${facts.version} → ${desired.version}` };
  }
  const name = SERVICE[desired.role];
  const service = facts.services[desired.role];
  if (!service.unit) return { kind: 'repair', reason: `install.sh did not finish: no ${name}.service` };
  if (!facts.uninstallers[desired.role]) return { kind: 'repair', reason: `install.sh did not finish: no ${UNINSTALL_SCRIPT[desired.role]}` };
  if (!service.active) return { kind: 'repair', reason: `${name} is not running` };
  if (service.startedAt !== undefined && facts.binaryChangedAt !== undefined && facts.binaryChangedAt > service.startedAt) {
    return { kind: 'restart', reason: `${name} runs an older k3s: the binary changed after it started` };
  }
  if (desired.tokenHash && facts.tokenHash !== desired.tokenHash) return { kind: 'rejoin', reason: "the server's join token changed (a reinstalled server)" };
  if ((facts.config ?? '').trim() !== desired.config.trim()) {
    return { kind: 'reconfigure', reason: `${K3S_PATHS.config} differs` };
  }
  return { kind: 'unchanged', reason: `k3s ${facts.version} running, config as planned` };
}

/**
 * The installer's environment: k3s's install.sh reads these. Air-gapped, the binary is uploaded
 * before it runs, so its before/after hashes match and it would skip the restart: force it.
 */
export function installerEnv(role: HostRole, version: string, options: { airgap: boolean }): Record<string, string> {
  return {
    INSTALL_K3S_VERSION: version,
    INSTALL_K3S_EXEC: role,
    ...(options.airgap ? { INSTALL_K3S_SKIP_DOWNLOAD: 'true', INSTALL_K3S_FORCE_RESTART: 'true' } : {}),
  };
}
