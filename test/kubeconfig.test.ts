import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { mergeIntoFile, retarget } from '../lib/k3s/kubeconfig.js';

const test = suite('kubeconfig');

const K3S_YAML = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EK
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVAo=
    client-key-data: S0VZCg==
`;

const EXISTING = `apiVersion: v1
kind: Config
clusters:
- name: work
  cluster: { server: 'https://work.example:6443' }
- name: raibid
  cluster: { server: 'https://old-address:6443' }
users:
- name: work
  user: { token: abc }
contexts:
- name: work
  context: { cluster: work, user: work }
current-context: work
`;

test('k3s.yaml is pointed at the host and renamed to the context', () => {
  const config = retarget(K3S_YAML, 'https://spark-1.local:6443', 'raibid');
  assert.equal(config.clusters, [{ name: 'raibid', cluster: { 'certificate-authority-data': 'Q0EK', server: 'https://spark-1.local:6443' } }]);
  assert.equal(config.contexts, [{ name: 'raibid', context: { cluster: 'raibid', user: 'raibid' } }]);
  assert.is(config.users[0]!.name, 'raibid');
});

test('merging keeps every other context, replaces our own, and writes mode 0600', () => {
  const dir = mkdtempSync(join(tmpdir(), 'raibid-kube-'));
  const path = join(dir, '.kube', 'config');
  mergeIntoFile(path, retarget(K3S_YAML, 'https://spark-1.local:6443', 'raibid'));
  assert.is(statSync(path).mode & 0o777, 0o600);
  writeFileSync(path, EXISTING, { mode: 0o644 });
  mergeIntoFile(path, retarget(K3S_YAML, 'https://spark-1.local:6443', 'raibid'));
  const merged = parse(readFileSync(path, 'utf8'));
  assert.equal(
    merged.contexts.map((c: { name: string }) => c.name),
    ['work', 'raibid'],
  );
  assert.equal(
    merged.clusters.map((c: { name: string }) => c.name),
    ['work', 'raibid'],
  );
  assert.is(merged.clusters[1].cluster.server, 'https://spark-1.local:6443', 'the stale entry was replaced');
  assert.is(merged.users[0].user.token, 'abc');
  assert.is(merged['current-context'], 'work', "the user's current context is kept");
  assert.is(statSync(path).mode & 0o777, 0o600, 'a 0644 file becomes 0600');
});

test.run();
