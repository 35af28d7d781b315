import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserError, failure } from '../errors.js';
import { commandLine } from '../shell.js';
import type { HostSession } from '../ssh.js';
import {
  type HostFacts,
  type HostRole,
  K3S_PATHS,
  type K3sAction,
  SERVICE,
  type ServiceFacts,
  UNINSTALL_SCRIPT,
  installerEnv,
  parseK3sVersion,
} from './plan.js';

/** One remote change, planned before anything runs so `--dry-run` can print it. */
export type RemoteStep =
  | { kind: 'write'; path: string; mode: string; content: string | Buffer; describe: string }
  | { kind: 'run'; argv: string[]; env: Record<string, string>; describe: string };

/** What a k3s.airgap.dir holds: install.sh, the k3s binary per architecture, the image tarballs by architecture. */
export interface AirgapFiles {
  installScript: string;
  /** By architecture (arm64, amd64); `any` for a plain `k3s`. */
  binaries: Record<string, string>;
  images: Record<string, string>;
}

export const INSTALLER_PATH = '/var/lib/rancher/raibid/install.sh';
const IMAGES_DIR = '/var/lib/rancher/k3s/agent/images';
const RELEASE = /v\d+\.\d+\.\d+\+k3s\d+/;

/** The architecture as k3s' release files name it. */
export function k3sArch(machine: string): string {
  return ({ aarch64: 'arm64', arm64: 'arm64', x86_64: 'amd64', amd64: 'amd64', armv7l: 'arm' } as Record<string, string>)[machine] ?? machine;
}

/**
 * k3s.airgap.dir: install.sh and a k3s binary (`k3s`, or `k3s-arm64` and the like, as the release
 * names them) are required, image tarballs (`k3s-airgap-images-<arch>.tar[.zst]`) optional. Each
 * binary must be the wanted release, checked before anything is uploaded.
 */
export function airgapFiles(dir: string, version: string): AirgapFiles {
  const installScript = join(dir, 'install.sh');
  const missing = (what: string) =>
    new UserError(`k3s.airgap.dir: ${what} is missing`, {
      hint: 'the folder needs install.sh and the k3s binary for the host (k3s-arm64 for a DGX Spark), from the same k3s release',
    });
  if (!existsSync(installScript)) throw missing(installScript);
  const names = readdirSync(dir);
  const binaries = Object.fromEntries(
    names.flatMap((n) => (n === 'k3s' ? [['any', join(dir, n)]] : /^k3s-(arm64|amd64|arm|s390x|riscv64)$/.test(n) ? [[n.slice(4), join(dir, n)]] : [])),
  );
  if (Object.keys(binaries).length === 0) throw missing(join(dir, 'k3s'));
  for (const binary of Object.values(binaries)) {
    const content = readFileSync(binary).toString('latin1');
    if (!content.includes(version)) {
      throw new UserError(`k3s.airgap.dir: ${binary} is k3s ${content.match(RELEASE)?.[0] ?? '(no version found)'}, not k3s.version ${version}`, {
        hint: `download k3s ${version} into the folder, or set k3s.version to the binary's release`,
      });
    }
  }
  const images = Object.fromEntries(
    names.flatMap((n) => {
      const m = n.match(/^k3s-airgap-images-([a-z0-9]+)\.tar(\.zst|\.gz)?$/);
      return m ? [[m[1]!, join(dir, n)]] : [];
    }),
  );
  return { installScript, binaries, images };
}

/** The remote changes that bring a host to `action`'s end state. Pure: reads only local files. */
export function k3sSteps(action: K3sAction, plan: { role: HostRole; version: string; config: string; arch: string; airgap?: AirgapFiles }): RemoteStep[] {
  if (action.kind === 'unchanged') return [];
  const writeConfig: RemoteStep = {
    kind: 'write',
    path: K3S_PATHS.config,
    mode: '0600',
    content: plan.config,
    describe: `write ${K3S_PATHS.config}`,
  };
  const service = SERVICE[plan.role];
  const restart: RemoteStep = { kind: 'run', argv: ['systemctl', 'restart', service], env: {}, describe: `restart ${service}` };
  if (action.kind === 'reconfigure' || action.kind === 'rejoin') return [writeConfig, restart];
  if (action.kind === 'restart') return [restart];
  const env = installerEnv(plan.role, plan.version, { airgap: Boolean(plan.airgap) });
  if (!plan.airgap) {
    return [
      writeConfig,
      {
        kind: 'run',
        argv: ['sh', '-c', 'curl -sfL https://get.k3s.io | sh -s -'],
        env,
        describe: `${action.kind} k3s ${plan.version} (${plan.role}) from get.k3s.io`,
      },
    ];
  }
  const files = plan.airgap;
  const binary = files.binaries[plan.arch] ?? files.binaries.any;
  if (!binary)
    throw new UserError(`k3s.airgap.dir: no k3s binary for ${plan.arch} (k3s-${plan.arch})`, {
      hint: `a host is ${plan.arch}: add k3s-${plan.arch} of the same release`,
    });
  const images = files.images[plan.arch];
  return [
    writeConfig,
    { kind: 'write', path: K3S_PATHS.binary, mode: '0755', content: readFileSync(binary), describe: `upload k3s ${plan.version} (${plan.arch})` },
    // k3s picks the decompressor from the file name: it must keep its .tar or .tar.zst
    ...(images
      ? [
          {
            kind: 'write',
            path: `${IMAGES_DIR}/${basename(images)}`,
            mode: '0644',
            content: readFileSync(images),
            describe: `upload the air-gap images (${basename(images)})`,
          } as const,
        ]
      : []),
    { kind: 'write', path: INSTALLER_PATH, mode: '0755', content: readFileSync(files.installScript), describe: 'upload install.sh' },
    { kind: 'run', argv: [INSTALLER_PATH], env, describe: `${action.kind} k3s ${plan.version} (${plan.role}), air-gapped` },
  ];
}

export function describeStep(step: RemoteStep): string {
  if (step.kind === 'write') return `${step.describe}  (${step.content.length} bytes, mode ${step.mode})`;
  const env = Object.entries(step.env).map(([k, v]) => `${k}=${v}`);
  return `${step.describe}  $ ${commandLine([...(env.length ? ['env', ...env] : []), ...step.argv])}`;
}

/** One line per fact, then the config: what `decide` needs, in one round trip. */
const FACTS_SCRIPT = `echo "arch=$(uname -m)"
if [ -x ${K3S_PATHS.binary} ]; then echo "version=$(${K3S_PATHS.binary} --version 2>/dev/null | head -1)"; echo "binaryChangedAt=$(stat -c %Y ${K3S_PATHS.binary})"; fi
for s in ${SERVICE.server} ${SERVICE.agent}; do
  unit=no; [ -f /etc/systemd/system/$s.service ] && unit=yes
  active=$(systemctl is-active $s 2>/dev/null)
  since=$(systemctl show -p ActiveEnterTimestamp --value $s 2>/dev/null)
  [ -n "$since" ] && since=$(date -d "$since" +%s 2>/dev/null)
  echo "$s=$unit \${active:-unknown} \${since:--}"
done
[ -x ${UNINSTALL_SCRIPT.server} ] && echo uninstallServer=yes
[ -x ${UNINSTALL_SCRIPT.agent} ] && echo uninstallAgent=yes
[ -f ${K3S_PATHS.token} ] && echo "tokenHash=$(sha256sum < ${K3S_PATHS.token} | cut -d' ' -f1)"
echo '--- raibid ---'
cat ${K3S_PATHS.config} 2>/dev/null || true`;

/** A host reached over SSH, with root: directly, or through passwordless sudo. */
export class RemoteHost {
  private sudo: string[] | undefined;

  constructor(readonly ssh: HostSession) {}

  private async privileged(): Promise<string[]> {
    if (this.sudo) return this.sudo;
    const uid = (await this.ssh.run(['id', '-u'])).trim();
    if (uid !== '0') {
      const check = await this.ssh.exec(['sudo', '-n', 'true']);
      if (check.code !== 0) {
        throw failure(
          `${this.ssh.target.user ?? 'the user'}@${this.ssh.target.address} cannot use sudo without a password`,
          `allow it: echo '${this.ssh.target.user ?? '$USER'} ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/raibid`,
        );
      }
    }
    this.sudo = uid === '0' ? [] : ['sudo', '-n'];
    return this.sudo;
  }

  /** How commands get root here: `root` or `sudo -n` (fails with the sudoers fix otherwise). */
  async rootVia(): Promise<string> {
    return (await this.privileged()).length === 0 ? 'root' : 'sudo -n';
  }

  async facts(): Promise<HostFacts> {
    const out = await this.ssh.run([...(await this.privileged()), 'sh', '-c', FACTS_SCRIPT]);
    const [head = '', config = ''] = out.split('--- raibid ---\n');
    const fields = Object.fromEntries(head.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    const number = (value: string | undefined) => (value && /^\d+$/.test(value) ? Number(value) : undefined);
    const service = (value = ''): ServiceFacts => {
      const [unit, active, started] = value.split(' ');
      return { unit: unit === 'yes', active: active === 'active', startedAt: number(started) };
    };
    return {
      arch: k3sArch(fields.arch ?? ''),
      version: parseK3sVersion(fields.version ?? ''),
      config: config || undefined,
      binaryChangedAt: number(fields.binaryChangedAt),
      services: { server: service(fields.k3s), agent: service(fields['k3s-agent']) },
      uninstallers: { server: fields.uninstallServer === 'yes', agent: fields.uninstallAgent === 'yes' },
      tokenHash: fields.tokenHash || undefined,
    };
  }

  async read(path: string): Promise<string> {
    return this.ssh.run([...(await this.privileged()), 'cat', path]);
  }

  /** The first of these files that exists. */
  async readFirst(paths: string[]): Promise<string> {
    const script = 'for f in "$@"; do if [ -f "$f" ]; then exec cat "$f"; fi; done; echo "none of $* exists" >&2; exit 1';
    return this.ssh.run([...(await this.privileged()), 'sh', '-c', script, 'read', ...paths]);
  }

  async apply(step: RemoteStep): Promise<void> {
    const sudo = await this.privileged();
    if (step.kind === 'write') {
      const script = 'mkdir -p "$(dirname "$1")" && cat > "$1.raibid-partial" && chmod "$2" "$1.raibid-partial" && mv -f "$1.raibid-partial" "$1"';
      await this.ssh.run([...sudo, 'sh', '-c', script, 'write', step.path, step.mode], { input: step.content });
      return;
    }
    const env = Object.entries(step.env).map(([k, v]) => `${k}=${v}`);
    await this.ssh.run([...sudo, 'env', ...env, ...step.argv]);
  }
}
