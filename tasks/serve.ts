import { UserError } from '../lib/errors.js';
import { requiredGiteaUrl } from '../lib/platform/charts.js';
import { openQueue } from '../lib/queue/open.js';
import { defineTask, print, sayConfig } from '../lib/task.js';
import { startServe } from '../lib/webhook/serve.js';

export default defineTask({
  summary: 'receive GitHub and Gitea push webhooks: sync the mirror, queue the build',
  usage: ['serve [--port <n>] [--host <address>]'],
  details:
    'POST /hooks/github (X-Hub-Signature-256) and POST /hooks/gitea (X-Gitea-Signature), both\n' +
    'signed with RAIBID_WEBHOOK_SECRET; GET /healthz. A GitHub push to a mirrored repository syncs\n' +
    "its Gitea mirror at once; Gitea's push webhook, once the mirror has the commit, queues it.\n" +
    'JSON and form-encoded (payload=) bodies are read. Unknown repositories\n' +
    'are answered 202 with the reason; a bad signature 401, a body over 1 MiB 413, malformed JSON\n' +
    '400, and nothing is queued then. Jobs whose agent stopped heart-beating for the visibility\n' +
    'timeout (a pod killed mid-job) go back to the queue, where KEDA starts a pod for them.\n' +
    'It sets the commit status (statuses.context, raibid/ci) of every job queued from Gitea as it\n' +
    'is queued, runs and ends: on Gitea, and on GitHub too for a mirror of a GitHub repository\n' +
    '(with GITHUB_TOKEN), linking to the job page at webhook.publicUrl/jobs/<id>; agents hold no\n' +
    'token. Needs GITEA_TOKEN for syncing and statuses, and Redis (redis.url).',
  options: {
    port: { kind: 'number', value: 'n', description: 'port to listen on (default: webhook.port, 8080)', min: 0, max: 65535, integer: true },
    host: { kind: 'string', value: 'address', description: 'address to listen on (in the cluster: 0.0.0.0)', default: '127.0.0.1' },
  },
  async run(input) {
    const { port, host } = input.options;
    const loaded = input.config();
    const { config, secrets } = loaded;
    sayConfig(input.io, loaded);
    if (!secrets.webhookSecret)
      throw new UserError('serve: RAIBID_WEBHOOK_SECRET is not set', {
        hint: 'the secret the webhooks are signed with (in the cluster: Secret raibid/raibid-webhook)',
      });
    requiredGiteaUrl(config, 'serve');
    const open = await openQueue(config, 'raibid-serve');
    try {
      const serving = await startServe({
        config,
        secrets,
        webhookSecret: secrets.webhookSecret,
        open,
        host,
        port: port ?? config.webhook.port,
        log: (line) => print(input.io, line),
        warn: (line) => input.io.stderr.write(`${line}\n`),
      });
      print(input.io, `serve: listening on ${serving.address.address} port ${serving.address.port}`);
      print(input.io, `serve: job list at ${serving.jobList}`);
      await new Promise<void>((resolve) => input.interrupted.addEventListener('abort', () => resolve(), { once: true }));
      await serving.stop();
    } finally {
      await open.close();
    }
    return 0;
  },
});
