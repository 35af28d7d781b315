import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { makeAirgap } from './fixtures/airgap.js';
import { CLI, runCli } from './fixtures/cli.js';
import { type FakeKube, startFakeKube } from './fixtures/fake-kube.js';
import { FIXTURE_RECORDS, hostPath, hostRoot, seed } from './fixtures/sshd.js';

const test = suite('bootstrap on this machine (host.address localhost, --local): the same steps, no SSH');
let dir: string;
let kube: FakeKube;
let mounts: string[];

/** Runs the CLI as this machine would, in a mount namespace whose /etc, /usr/local, /var/lib and /run are the test's. */
function isolatedCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `${mounts.join(' && ')} && exec "$0" "$@"`;
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, process.execPath, CLI, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env, PATH: `/usr/local/sbin:/usr/local/bin:${process.env.PATH}` },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function config(name: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      host: { address: 'localhost', name: 'spark-local' },
      k3s: { version: 'v1.33.5+k3s1', airgap: { dir: makeAirgap('v1.33.5+k3s1') }, apiUrl: kube.url, readyTimeoutSeconds: 10 },
      ...extra,
    }),
  );
  return file;
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raibid-local-'));
  kube = await startFakeKube();
  kube.setNode({ name: 'spark-local', ready: true });
  mounts = hostRoot(dir);
  // where k3s keeps its API server's CA; the stub k3s puts it into k3s.yaml
  seed(dir, '/var/lib/rancher/k3s/server/tls/server-ca.crt', kube.ca, 0o644);
});
test.after(async () => {
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
});

test('host.address localhost: k3s installed here through the same steps, kubeconfig merged, node Ready; a re-run is unchanged', async () => {
  const kubeconfig = join(dir, 'kubeconfig');
  const env = { RAIBID_CONFIG: config('local'), SSH_AUTH_SOCK: '', PATH: '/usr/local/sbin:/usr/local/bin:/usr/bin:/bin' };
  const first = await isolatedCli(['bootstrap', '--only', 'k3s', '--kubeconfig', kubeconfig], env);
  assert.is(first.code, 0, first.stderr + first.stdout);
  assert.match(first.stdout, 'localhost (server): install: k3s v1.33.5+k3s1 is not installed');
  assert.match(first.stdout, 'Nodes Ready: spark-local');
  assert.match(readFileSync(hostPath(dir, '/etc/rancher/k3s/config.yaml'), 'utf8'), 'node-name: spark-local');
  assert.match(readFileSync(hostPath(dir, `${FIXTURE_RECORDS}/services/k3s.active`), 'utf8'), 'k3s version v1.33.5+k3s1');
  assert.match(readFileSync(kubeconfig, 'utf8'), kube.url);
  assert.not.ok(existsSync('/etc/rancher/k3s'), 'nothing of it on this machine outside the namespace');
  const again = await isolatedCli(['bootstrap', '--only', 'k3s', '--kubeconfig', kubeconfig], env);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, 'localhost (server): unchanged');
});

test('--dry-run on this machine prints the steps and changes nothing; workers need the address they reach it at', async () => {
  const dry = await isolatedCli(['bootstrap', '--only', 'k3s', '--dry-run', '--local'], {
    RAIBID_CONFIG: config('dry', { host: { address: '10.0.0.5', name: 'spark-local' } }),
  });
  assert.is(dry.code, 0, dry.stderr);
  // run here, not over SSH to 10.0.0.5: the config k3s was set up with (tls-san localhost) is what it finds
  assert.match(dry.stdout, '10.0.0.5 (server): reconfigure: /etc/rancher/k3s/config.yaml differs');
  assert.match(dry.stdout, 'restart k3s');
  assert.equal(
    parse(readFileSync(hostPath(dir, '/etc/rancher/k3s/config.yaml'), 'utf8'))['tls-san'],
    ['localhost', '127.0.0.1'],
    'a dry run changes nothing (127.0.0.1: k3s.apiUrl)',
  );
  const joined = await runCli(['bootstrap', '--only', 'k3s', '--dry-run'], { env: { RAIBID_CONFIG: config('workers', { nodes: [{ address: '10.0.0.6' }] }) } });
  assert.is(joined.code, 2);
  assert.match(joined.stderr, 'host.address: localhost cannot be joined by workers');
});

test.run();
