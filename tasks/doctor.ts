import { kubeconfigPath } from '../lib/paths.js';
import { defineTask, print, printJson } from '../lib/task.js';

export default defineTask({
  summary: 'check every part of the farm and say how to fix what is wrong',
  usage: ['doctor [--json] [--kubeconfig <file>]'],
  details:
    'SSH and sudo, the k3s service and free disk on each host; nodes Ready; each chart installed\n' +
    'with its workloads available; pods healthy; the agents ScaledJob; Redis reachable with AOF on;\n' +
    'queue lag and dead letters; the Gitea API and token; the oldest mirror sync. Each failed check\n' +
    'comes with a hint. Exits 1 when any check fails. Changes nothing.',
  options: {
    json: { kind: 'boolean', description: 'print the checks as JSON' },
    kubeconfig: { kind: 'string', value: 'file', description: 'the kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)' },
  },
  async run(input) {
    const kubeconfig = kubeconfigPath(input.options.kubeconfig, input.io.env);
    const { firstStep, runDoctor } = await import('../lib/doctor.js');
    const loaded = input.config();
    const checks = await runDoctor(loaded, input.io.env, kubeconfig);
    const failed = checks.filter((c) => !c.ok).length;
    const next = firstStep(loaded, checks);
    if (input.options.json) printJson(input.io, { ok: failed === 0, ...(next ? { next } : {}), checks });
    else {
      if (next) print(input.io, `${next}\n`);
      for (const c of checks) {
        print(input.io, `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
        if (c.hint) print(input.io, `     fix: ${c.hint}`);
      }
      print(input.io, failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed`);
    }
    return failed === 0 ? 0 : 1;
  },
});
