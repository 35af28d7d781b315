import { stringify } from 'yaml';
import { agentBundle } from '../lib/platform/agents.js';
import { RENDER_GROUPS, renderAll, selectGroup } from '../lib/platform/render.js';
import { redact, redactedSecrets } from '../lib/platform/secrets.js';
import { defineTask } from '../lib/task.js';

export default defineTask({
  summary: 'print the Kubernetes objects bootstrap applies, as YAML',
  usage: ['render [--only platform|flux|agents]'],
  details:
    'Everything the platform stages apply, rendered from the config alone, as multi-document YAML:\n' +
    'namespaces, Secrets (values redacted), the HelmCharts of Redis (Valkey), KEDA, Gitea and Flux,\n' +
    "Flux's GitRepository and Kustomization, and the agents' ScaledJob with what it mounts (the\n" +
    'agent program itself as a gzipped ConfigMap of some 270 KB: --only platform leaves it out).\n' +
    'Nothing is read from or sent to a cluster.',
  options: {
    only: { kind: 'string', value: 'group', description: `print one group: ${RENDER_GROUPS.join(', ')}`, choices: RENDER_GROUPS, choiceName: 'group' },
  },
  async run(input) {
    const { only } = input.options;
    const rendered = renderAll(input.config().config, redactedSecrets(), only === 'agents' || only === undefined ? agentBundle() : '');
    const documents = redact(selectGroup(rendered, only));
    input.io.stdout.write(documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n'));
    return 0;
  },
});
