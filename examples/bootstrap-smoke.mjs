#!/usr/bin/env zx
// Bootstrap the farm, then prove it builds: queue a smoke build of a crate and wait for it,
// printing its log as it runs. Exit code 0 only when both went through.
//
//   npx zx examples/bootstrap-smoke.mjs [--stages platform,gitea,flux,agents] [--repo <url|path>] [--ref <ref>]
//
// --repo defaults to examples/hello-crate of this package (a local path: for an agent on this
// machine; give a clone URL the cluster's agents reach otherwise).
import { openFarm } from 'raibid-task';

const farm = openFarm();
try {
  const stages = argv.stages ? String(argv.stages).split(',') : undefined;
  const bootstrap = await farm.bootstrap({ stages, kubeconfig: argv.kubeconfig });
  for (const { stage, outcome } of bootstrap.stages) echo(`${stage}: ${outcome}`);

  const repo = argv.repo ?? path.join(path.dirname(new URL(import.meta.url).pathname), 'hello-crate');
  const { id } = await farm.dispatch({ repo, ref: argv.ref ?? 'HEAD', meta: { source: 'smoke' } });
  echo(`smoke build ${id} queued`);
  const job = await farm.waitForJob(id, { timeoutMs: Number(argv.timeout ?? 15) * 60_000, onLog: (l) => echo(`  ${l.line}`) });
  echo(`smoke build ${id}: ${job.state}${job.error ? `: ${job.error}` : ''}`);
  process.exitCode = job.state === 'succeeded' ? 0 : 1;
} finally {
  await farm.close();
}
