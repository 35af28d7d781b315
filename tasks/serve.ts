import { UserError } from '../lib/errors.js';
import { GiteaClient } from '../lib/gitea/client.js';
import { reportStatuses } from '../lib/gitea/status-reporter.js';
import { compileRules } from '../lib/mirror/select.js';
import { numberOption, stringOption } from '../lib/options.js';
import { requiredGiteaUrl } from '../lib/platform/charts.js';
import { openQueue } from '../lib/queue/open.js';
import { startRequeuing } from '../lib/queue/requeuer.js';
import { type Task, print, sayConfig } from '../lib/task.js';
import { pushHandlers } from '../lib/webhook/dispatch.js';
import { webhookServer } from '../lib/webhook/server.js';

const task: Task = {
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
    'It sets the Gitea commit status (raibid/ci) of every job queued from Gitea as it runs and\n' +
    'ends, so agents hold no Gitea token. Needs GITEA_TOKEN for syncing and statuses, and Redis\n' +
    '(redis.url).',
  options: {
    port: { type: 'string', value: 'n', description: 'port to listen on (default: webhook.port, 8080)' },
    host: { type: 'string', value: 'address', description: 'address to listen on (default 127.0.0.1; in the cluster 0.0.0.0)' },
  },
  async run(input) {
    const portOption = numberOption(input, 'serve', 'port', { min: 0, max: 65535, integer: true });
    const host = stringOption(input, 'serve', 'host') ?? '127.0.0.1';
    const loaded = input.config();
    const { config, secrets } = loaded;
    sayConfig(input.io, loaded);
    const port = portOption ?? config.webhook.port;
    if (!secrets.webhookSecret) throw new UserError('serve: RAIBID_WEBHOOK_SECRET is not set', { hint: 'the secret the webhooks are signed with (in the cluster: Secret raibid/raibid-webhook)' });
    const url = requiredGiteaUrl(config, 'serve');
    const rules = compileRules(config.mirror);
    const open = await openQueue(config, 'raibid-serve');
    const gitea = secrets.giteaToken ? new GiteaClient(url, { token: secrets.giteaToken }) : undefined;
    const server = webhookServer({
      secret: secrets.webhookSecret,
      ...pushHandlers({ config, rules, gitea, queue: open.queue }),
      log: (line) => print(input.io, line),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    const address = server.address();
    print(input.io, `serve: listening on ${typeof address === 'object' && address ? `${address.address} port ${address.port}` : `port ${port}`}`);
    const stopRequeuing = startRequeuing(open.queue, {
      requeued: (ids) => print(input.io, `serve: requeued ${ids.join(', ')}: agent stopped heart-beating`),
      failed: (error) => input.io.stderr.write(`serve: cannot check for stranded jobs: ${error.message}\n`),
    });
    const statuses = secrets.giteaToken ? { token: secrets.giteaToken, blocking: await open.connect() } : undefined;
    const reporting =
      statuses &&
      reportStatuses({ queue: open.queue, blocking: statuses.blocking, gitea: { url, token: statuses.token }, signal: input.interrupted, log: (line) => input.io.stderr.write(`serve: ${line}\n`) });
    await new Promise<void>((resolve) => input.interrupted.addEventListener('abort', () => resolve(), { once: true }));
    stopRequeuing();
    statuses?.blocking.disconnect();
    await reporting;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await open.close();
    return 0;
  },
};

export default task;
