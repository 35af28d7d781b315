import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, failure } from '../errors.js';
import { commandLine } from '../shell.js';
import type { SshSession } from '../ssh.js';
import { type HostFacts, type HostRole, K3S_PATHS, type K3sAction, installerEnv, parseK3sVersion } from './plan.js';

/** One remote change, planned before anything runs so `--dry-run` can print it. */
export type RemoteStep =
  | { kind: 'write'; path: string; mode: string; content: string | Buffer; describe: string }
  | { kind: 'run'; argv: string[]; env: Record<string, string>; describe: string };

export interface AirgapFiles {
  installScript: string;
  binary: string;
  images?: string;
}

export const INSTALLER_PATH = '/var/lib/rancher/raibid/install.sh';
const IMAGES_PATH = '/var/lib/rancher/k3s/agent/images/k3s-airgap-images.tar';

/** k3s.airgap.dir: install.sh and k3s are required, an images tarball is optional. */
export function airgapFiles(dir: string): AirgapFiles {
  const need = (name: string) => {
    const path = join(dir, name);
    if (!existsSync(path)) {
      throw new UserError(`k3s.airgap.dir: ${path} is missing`, {
        hint: 'the folder needs install.sh and the k3s binary for the host (k3s-arm64 saved as k3s), from the same k3s release',
      });
    }
    return path;
  };
  const images = ['k3s-airgap-images-arm64.tar.zst', 'k3s-airgap-images-arm64.tar'].map((n) => join(dir, n)).find(existsSync);
  return { installScript: need('install.sh'), binary: need('k3s'), images };
}

/** The remote changes that bring a host to `action`'s end state. Pure: reads only local files. */
export function k3sSteps(action: K3sAction, plan: { role: HostRole; version: string; config: string; airgap?: AirgapFiles }): RemoteStep[] {
  if (action.kind === 'unchanged') return [];
  const writeConfig: RemoteStep = {
    kind: 'write',
    path: K3S_PATHS.config,
    mode: '0600',
    content: plan.config,
    describe: `write ${K3S_PATHS.config}`,
  };
  const service = plan.role === 'server' ? 'k3s' : 'k3s-agent';
  if (action.kind === 'reconfigure') {
    return [writeConfig, { kind: 'run', argv: ['systemctl', 'restart', service], env: {}, describe: `restart ${service}` }];
  }
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
  return [
    writeConfig,
    { kind: 'write', path: K3S_PATHS.binary, mode: '0755', content: readFileSync(files.binary), describe: `upload k3s ${plan.version}` },
    ...(files.images
      ? [{ kind: 'write', path: IMAGES_PATH, mode: '0644', content: readFileSync(files.images), describe: 'upload the air-gap images' } as const]
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

/** A host reached over SSH, with root: directly, or through passwordless sudo. */
export class RemoteHost {
  private sudo: string[] | undefined;

  constructor(readonly ssh: SshSession) {}

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

  async facts(): Promise<HostFacts> {
    const script = `if [ -x ${K3S_PATHS.binary} ]; then ${K3S_PATHS.binary} --version 2>/dev/null || true; fi
echo '--- raibid ---'
cat ${K3S_PATHS.config} 2>/dev/null || true`;
    const out = await this.ssh.run([...(await this.privileged()), 'sh', '-c', script]);
    const [versionPart = '', configPart = ''] = out.split('--- raibid ---\n');
    return { version: parseK3sVersion(versionPart), config: configPart || undefined };
  }

  async read(path: string): Promise<string> {
    return this.ssh.run([...(await this.privileged()), 'cat', path]);
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
