// 50 small remote commands over one multiplexed connection, through the toolkit's zx process
// layer and, interleaved with them, the same ssh arguments through node's spawn (the process layer
// before zx: its peer); then a new ssh connection per command; all against the same sshd in the
// same run, as a user whose shell reads no rc files (so the figure is ssh's, not this machine's
// root .bashrc); and the wall time of re-running the k3s stage on a converged host. Prints JSON lines.
import { execFileSync, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../lib/config.js';
import { RemoteHost, airgapFiles } from '../lib/k3s/remote.js';
import { k3sStage } from '../lib/k3s/stage.js';
import { SshSession } from '../lib/ssh.js';
import { makeAirgap } from '../test/fixtures/airgap.js';
import { startSshd } from '../test/fixtures/sshd.js';

/** A program's output through node's spawn, stdin closed: what lib/ssh.ts did before zx. */
function spawned(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} exited ${code}`))));
  });
}

const sum = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0));
const median = (values: number[]) => Math.round([...values].sort((a, b) => a - b)[values.length >> 1]! * 100) / 100;

const COMMANDS = Number(process.env.BENCH_COMMANDS ?? 50);
const host = await startSshd({ users: [{ name: 'raibid-bench', sudo: 'password' }] });
try {
  const target = { address: host.address, port: host.port, user: host.user, identityFile: host.identityFile };
  const bench = { ...target, user: 'raibid-bench' };
  const ssh = new SshSession(bench, { configFile: host.configFile, knownHostsFile: host.knownHostsFile });
  await ssh.connect();
  const zx: number[] = [];
  const nodeSpawn: number[] = [];
  const timed = async (into: number[], run: () => Promise<string>, expected: string) => {
    const start = performance.now();
    const out = await run();
    into.push(performance.now() - start);
    if (out.trim() !== expected) throw new Error(`got ${JSON.stringify(out)}, wanted ${expected}`);
  };
  for (let i = 0; i < COMMANDS; i++) {
    const viaZx = () => timed(zx, () => ssh.run(['echo', String(i)]), String(i));
    const viaSpawn = () => timed(nodeSpawn, () => spawned('ssh', ssh.commandArgs(['echo', String(i)])), String(i));
    // each goes first half the time, so neither gets the warmer cache
    if (i % 2 === 0) await viaZx().then(viaSpawn);
    else await viaSpawn().then(viaZx);
  }
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
      multiplexed_ms: sum(zx),
      multiplexed_node_spawn_ms: sum(nodeSpawn),
      zx_vs_node_spawn_median_ms: [median(zx), median(nodeSpawn)],
      zx_overhead_pct: Math.round((median(zx) / median(nodeSpawn) - 1) * 1000) / 10,
      new_connection_each_ms: Math.round(separate),
      speedup: Math.round((separate / sum(zx)) * 10) / 10,
    }),
  );
} finally {
  await host.stop();
}
