import { stringify } from 'yaml';
import { UserError } from '../lib/errors.js';
import { stringOption } from '../lib/options.js';
import { agentBundle } from '../lib/platform/agents.js';
import { RENDER_GROUPS, type RenderGroup, renderAll, selectGroup } from '../lib/platform/render.js';
import { redact, redactedSecrets } from '../lib/platform/secrets.js';
import type { Task } from '../lib/task.js';

const task: Task = {
  summary: 'print the Kubernetes objects bootstrap applies, as YAML',
  usage: ['render [--only platform|flux|agents]'],
  details:
    'Everything the platform stages apply, rendered from the config alone, as multi-document YAML:\n' +
    'namespaces, Secrets (values redacted), the HelmCharts of Redis (Valkey), KEDA, Gitea and Flux,\n' +
    "Flux's GitRepository and Kustomization, and the agents' ScaledJob with what it mounts (the\n" +
    'agent program itself as a gzipped ConfigMap of some 270 KB: --only platform leaves it out).\n' +
    'Nothing is read from or sent to a cluster.',
  options: {
    only: { type: 'string', value: 'group', description: `print one group: ${RENDER_GROUPS.join(', ')}`, choices: RENDER_GROUPS },
  },
  async run(input) {
    const only = stringOption(input, 'render', 'only');
    if (only !== undefined && !RENDER_GROUPS.includes(only as RenderGroup)) {
      throw new UserError(`render: --only '${only}' is not a group`, { hint: `groups: ${RENDER_GROUPS.join(', ')}` });
    }
    const rendered = renderAll(input.config().config, redactedSecrets(), only === 'agents' || only === undefined ? agentBundle() : '');
    const documents = redact(selectGroup(rendered, only as RenderGroup | undefined));
    input.io.stdout.write(documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n'));
    return 0;
  },
};

export default task;
