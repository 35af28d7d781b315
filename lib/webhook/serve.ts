import type { AddressInfo } from 'node:net';
import type { Config, Secrets } from '../config.js';
import { GiteaClient } from '../gitea/client.js';
import { reportStatuses } from '../gitea/status-reporter.js';
import { compileRules } from '../mirror/select.js';
import { giteaUrl } from '../platform/charts.js';
import type { OpenQueue } from '../queue/open.js';
import { startRequeuing } from '../queue/requeuer.js';
import { pushHandlers } from './dispatch.js';
import { webhookServer } from './server.js';

export interface ServeOptions {
  config: Config;
  secrets: Secrets;
  webhookSecret: string;
  open: OpenQueue;
  host: string;
  port: number;
  log(line: string): void;
  warn(line: string): void;
}

export interface Serving {
  address: AddressInfo;
  stop(): Promise<void>;
}

/**
 * What `serve` runs: the webhook receiver, the requeuing of jobs whose agent stopped
 * heart-beating, and, given a Gitea token, the commit statuses. Without a Gitea URL or token,
 * GitHub pushes are answered 503 and no status is reported.
 */
export async function startServe(options: ServeOptions): Promise<Serving> {
  const { config, secrets, open } = options;
  const url = giteaUrl(config);
  const gitea = url && secrets.giteaToken ? new GiteaClient(url, { token: secrets.giteaToken }) : undefined;
  const server = webhookServer({
    secret: options.webhookSecret,
    ...pushHandlers({ config, rules: compileRules(config.mirror), gitea, queue: open.queue }),
    log: options.log,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const stopRequeuing = startRequeuing(open.queue, {
    requeued: (ids) => options.log(`serve: requeued ${ids.join(', ')}: agent stopped heart-beating`),
    failed: (error) => options.warn(`serve: cannot check for stranded jobs: ${error.message}`),
  });
  const stopping = new AbortController();
  const blocking = url && secrets.giteaToken ? await open.connect() : undefined;
  const reporting =
    blocking &&
    reportStatuses({ queue: open.queue, blocking, gitea: { url: url!, token: secrets.giteaToken! }, signal: stopping.signal, log: (line) => options.warn(`serve: ${line}`) });
  return {
    address: server.address() as AddressInfo,
    stop: async () => {
      stopRequeuing();
      stopping.abort();
      blocking?.disconnect();
      await reporting;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
