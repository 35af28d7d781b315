// 50 small remote commands over one multiplexed connection vs a new ssh connection per
// command, against the same sshd in the same run, as a user whose shell reads no rc files (so
// the figure is ssh's, not this machine's root .bashrc); and the wall time of re-running the
// k3s stage on a converged host. Prints JSON lines.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../lib/config.js';
import { RemoteHost, airgapFiles } from '../lib/k3s/remote.js';
import { k3sStage } from '../lib/k3s/stage.js';
import { SshSession } from '../lib/ssh.js';
import { makeAirgap } from '../test/fixtures/airgap.js';
import { startSshd } from '../test/fixtures/sshd.js';

const COMMANDS = Number(process.env.BENCH_COMMANDS ?? 50);
const host = await startSshd({ users: [{ name: 'raibid-bench', sudo: 'password' }] });
try {
  const target = { address: host.address, port: host.port, user: host.user, identityFile: host.identityFile };
  const bench = { ...target, user: 'raibid-bench' };
  const ssh = new SshSession(bench, { configFile: host.configFile, knownHostsFile: host.knownHostsFile });
  const t0 = performance.now();
  for (let i = 0; i < COMMANDS; i++) await ssh.run(['echo', String(i)]);
  const multiplexed = performance.now() - t0;
  await ssh.close();

  const t1 = performance.now();
  for (let i = 0; i < COMMANDS; i++) {
    execFileSync('ssh', [
      '-F',
      host.configFile,
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${host.knownHostsFile}`,
      '-o',
      'ControlMaster=no',
      '-o',
      'ControlPath=none',
      '-p',
      String(host.port),
      '-l',
      bench.user,
      '-i',
      host.identityFile,
      host.address,
      'echo',
      String(i),
    ]);
  }
  const separate = performance.now() - t1;

  const k3sConfig = parseConfig({ host: { address: host.address, port: host.port, user: host.user, identityFile: host.identityFile } }, 'bench');
  const airgap = airgapFiles(makeAirgap(k3sConfig.k3s.version), k3sConfig.k3s.version);
  const converge = async () => {
    const session = new SshSession(target, { configFile: host.configFile, knownHostsFile: host.knownHostsFile });
    try {
      return await k3sStage(k3sConfig, new RemoteHost(session), [], { airgap });
    } finally {
      await session.close();
    }
  };
  await converge();
  const t2 = performance.now();
  const [again] = await converge();
  const rerun = performance.now() - t2;
  if (again?.action.kind !== 'unchanged') throw new Error(`re-run was ${again?.action.kind}`);
  console.log(JSON.stringify({ name: 'k3s stage re-run on a converged host (new connection included)', wall_ms: Math.round(rerun) }));
  console.log(
    JSON.stringify({
      name: `${COMMANDS} remote commands`,
      multiplexed_ms: Math.round(multiplexed),
      new_connection_each_ms: Math.round(separate),
      speedup: Math.round((separate / multiplexed) * 10) / 10,
    }),
  );
} finally {
  await host.stop();
}
