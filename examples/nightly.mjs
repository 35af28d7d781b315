#!/usr/bin/env zx
// Every night: sync the mirrors, build what changed, and report the failures: mailed to
// $MAIL_TO through sendmail when both are there, else printed. Exit code 1 when a build failed.
//
//   0 3 * * *  cd ~/farm && npx zx node_modules/raibid-task/examples/nightly.mjs
//
// --timeout <minutes> bounds each build's wait (default 60).
import { openFarm } from 'raibid-task';

const farm = openFarm();
const timeoutMs = Number(argv.timeout ?? 60) * 60_000;
try {
  const sync = await farm.mirrorSync();
  const lines = [`mirrors: created ${sync.created}, synced ${sync.synced}, unchanged ${sync.unchanged}, failed ${sync.failed}`, ...sync.notes];
  const builds = await Promise.all(
    sync.changed.map(async (repo) => {
      const { id } = await farm.dispatch({ repo: farm.giteaCloneUrl(repo), meta: { 'gitea.repo': repo, source: 'nightly' } });
      const job = await farm.waitForJob(id, { timeoutMs }).catch((error) => ({ id, state: 'unfinished', error: error.message }));
      return { repo, job };
    }),
  );
  for (const { repo, job } of builds) lines.push(`${repo}: ${job.state} (job ${job.id})${job.error ? `: ${job.error}` : ''}`);
  const failed = builds.filter(({ job }) => job.state !== 'succeeded');
  const report = [`${failed.length} of ${builds.length} builds failed`, ...lines].join('\n');
  if (failed.length > 0 && process.env.MAIL_TO && (await which('sendmail', { nothrow: true }))) {
    await $({ input: `Subject: raibid nightly: ${failed.length} failed\n\n${report}\n` })`sendmail ${process.env.MAIL_TO}`;
    echo(`report mailed to ${process.env.MAIL_TO}`);
  } else echo(report);
  process.exitCode = failed.length > 0 ? 1 : 0;
} finally {
  await farm.close();
}
