import type { AddressInfo } from 'node:net';
import type { Config, Secrets } from '../config.js';
import { GiteaClient } from '../gitea/client.js';
import { GitHubClient } from '../github/client.js';
import { jobPageUrl, listToken } from '../jobs-page/link.js';
import { jobPages } from '../jobs-page/routes.js';
import { compileRules } from '../mirror/select.js';
import { giteaUrl } from '../platform/charts.js';
import type { OpenQueue } from '../queue/open.js';
import { startRequeuing } from '../queue/requeuer.js';
import { reportStatuses } from '../statuses/reporter.js';
import { type StatusSink, giteaSink, githubSink } from '../statuses/targets.js';
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
  /** The job list's path with its token (under webhook.publicUrl when that is set). */
  jobList: string;
  stop(): Promise<void>;
}

const passwordOf = (url: string) => decodeURIComponent(new URL(url).password) || undefined;

/**
 * What `serve` runs: the webhook receiver, the requeuing of jobs whose agent stopped
 * heart-beating, and the commit statuses: on Gitea given its token, on GitHub given GITHUB_TOKEN
 * (for jobs of mirrors of GitHub repositories). Without a Gitea URL or token, GitHub pushes are
 * answered 503.
 */
export async function startServe(options: ServeOptions): Promise<Serving> {
  const { config, secrets, open } = options;
  const url = giteaUrl(config);
  const gitea = url && secrets.giteaToken ? new GiteaClient(url, { token: secrets.giteaToken }) : undefined;
  const server = webhookServer({
    secret: options.webhookSecret,
    ...pushHandlers({ config, rules: compileRules(config.mirror), gitea, queue: open.queue }),
    log: options.log,
    pages: jobPages({ queue: open.queue, secret: options.webhookSecret, secrets: [options.webhookSecret, ...Object.values(secrets), passwordOf(open.url)] }),
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
  const context = config.statuses.context;
  const sinks: StatusSink[] = [
    ...(url && secrets.giteaToken ? [giteaSink({ url, token: secrets.giteaToken }, context)] : []),
    ...(secrets.githubToken ? [githubSink(new GitHubClient(config.github.apiUrl, secrets.githubToken, undefined, 1000, 0), context)] : []),
  ];
  const publicUrl = config.webhook.publicUrl;
  const blocking = sinks.length > 0 ? await open.connect() : undefined;
  const reporting =
    blocking &&
    reportStatuses({
      queue: open.queue,
      blocking,
      sinks,
      linkTo: (id) => (publicUrl ? jobPageUrl(publicUrl, options.webhookSecret, id) : undefined),
      signal: stopping.signal,
      log: (line) => options.warn(`serve: ${line}`),
    });
  return {
    address: server.address() as AddressInfo,
    jobList: `${publicUrl?.replace(/\/+$/, '') ?? ''}/jobs?t=${listToken(options.webhookSecret)}`,
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
