import { parseK3sVersion } from './plan.js';
import type { RemoteHost } from './remote.js';

export interface HostReport {
  arch: string;
  os: string;
  cores: number;
  memoryBytes: number;
  diskFreeBytes: number;
  nvidiaRuntime: boolean;
  /** TCP ports something listens on, of those k3s and the platform need. */
  portsInUse: number[];
  /** The k3s release already installed, if any. */
  k3sVersion?: string;
}

export interface Verdict {
  ok: boolean;
  warnings: string[];
  problems: string[];
  summary: string;
}

/** What a host needs beyond what k3s needs, for the platform and a few agents. */
export const MINIMUM = { cores: 4, memoryBytes: 8 * 2 ** 30, diskFreeBytes: 40 * 2 ** 30 };

const GIB = 2 ** 30;

const SCRIPT = `uname -m
( . /etc/os-release 2>/dev/null && echo "$ID $VERSION_ID" ) || echo unknown
nproc
awk '/^MemTotal:/ { print $2 * 1024 }' /proc/meminfo
df -Pk /var/lib | awk 'NR == 2 { print $4 * 1024 }'
if command -v nvidia-container-runtime >/dev/null 2>&1; then echo nvidia; else echo none; fi
(ss -Hltn 2>/dev/null || true) | awk '{ n = split($4, a, ":"); printf "%s ", a[n] } END { print "" }'
if [ -x /usr/local/bin/k3s ]; then /usr/local/bin/k3s --version 2>/dev/null | head -1; else echo; fi`;

export const NEEDED_PORTS = [6443, 80, 443];

export async function inspectHost(host: RemoteHost): Promise<HostReport> {
  const [arch = '', os = '', cores = '0', memory = '0', disk = '0', nvidia = '', ports = '', k3s = ''] = (await host.ssh.run(['sh', '-c', SCRIPT])).split('\n');
  const listening = ports
    .split(' ')
    .map(Number)
    .filter((p) => NEEDED_PORTS.includes(p));
  return {
    arch,
    os,
    cores: Number(cores),
    memoryBytes: Number(memory),
    diskFreeBytes: Number(disk),
    nvidiaRuntime: nvidia === 'nvidia',
    portsInUse: [...new Set(listening)],
    k3sVersion: parseK3sVersion(k3s),
  };
}

/** Pure: a DGX Spark is aarch64 on Ubuntu; other hosts work but are warned about. */
export function judge(report: HostReport): Verdict {
  const warnings: string[] = [];
  const problems: string[] = [];
  if (report.arch !== 'aarch64') warnings.push(`architecture ${report.arch}, not aarch64 (a DGX Spark is ARM64): agent images are multi-arch, so this works`);
  if (!report.os.startsWith('ubuntu')) warnings.push(`${report.os}: tested on Ubuntu 24.04`);
  if (report.cores < MINIMUM.cores) problems.push(`${report.cores} cores, fewer than the ${MINIMUM.cores} the platform reserves`);
  if (report.memoryBytes < MINIMUM.memoryBytes)
    problems.push(`${(report.memoryBytes / GIB).toFixed(1)} GiB memory, less than ${MINIMUM.memoryBytes / GIB} GiB`);
  if (report.diskFreeBytes < MINIMUM.diskFreeBytes)
    problems.push(`${(report.diskFreeBytes / GIB).toFixed(1)} GiB free under /var/lib, less than ${MINIMUM.diskFreeBytes / GIB} GiB`);
  if (report.portsInUse.length > 0 && !report.k3sVersion) {
    problems.push(`port${report.portsInUse.length > 1 ? 's' : ''} ${report.portsInUse.join(', ')} already in use by something other than k3s`);
  }
  const summary = `${report.arch}, ${report.os}, ${report.cores} cores, ${(report.memoryBytes / GIB).toFixed(0)} GiB, ${(report.diskFreeBytes / GIB).toFixed(0)} GiB free${report.k3sVersion ? `, k3s ${report.k3sVersion}` : ''}${report.nvidiaRuntime ? ', NVIDIA container runtime (k3s offers runtime class "nvidia")' : ''}`;
  return { ok: problems.length === 0, warnings, problems, summary };
}
