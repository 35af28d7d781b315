import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { isValidRef } from '../queue/validate.js';
import { verifyGitHub, verifyGitea } from './signature.js';

/** GitHub caps a webhook payload at 25 MB; a push of many commits comes close. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;
/** What all deliveries being read may hold at once: a few huge bodies, not many. */
export const BODY_BUDGET_BYTES = 64 * 1024 * 1024;

export interface Push {
  /** owner/name where it was pushed. */
  repo: string;
  cloneUrl: string;
  ref: string;
  sha: string;
  fork: boolean;
  archived: boolean;
  /** A tag push; `sha` is then the commit the tag points to (head_commit), not an annotated tag's own object. */
  tag: boolean;
  /** The ref was deleted (`sha` all zeros). */
  deleted: boolean;
  /** What a Gitea pull mirror mirrors (its repository.original_url). */
  mirrorOf?: string;
}

export interface HookAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface WebhookHandlers {
  secret: string;
  onGitHubPush(push: Push): Promise<HookAnswer>;
  onGiteaPush(push: Push): Promise<HookAnswer>;
  log?: (line: string) => void;
  /** Other pages (the job pages): true when it answered the request. */
  pages?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

interface PushPayload {
  ref?: unknown;
  after?: unknown;
  deleted?: boolean;
  head_commit?: { id?: unknown } | null;
  repository?: { full_name?: unknown; clone_url?: unknown; fork?: boolean; archived?: boolean; mirror?: boolean; original_url?: unknown };
}

const DELETED = /^0+$/;

/** Bytes of request bodies held right now, across all connections. */
let held = 0;

/** The body, or why not: over the cap (413), or more than the budget is held already (503). */
async function readBody(req: IncomingMessage): Promise<Buffer | 413 | 503> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return 413;
  if (held + declared > BODY_BUDGET_BYTES) return 503;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      held += chunk.length;
      if (size > MAX_BODY_BYTES) return 413;
      if (held > BODY_BUDGET_BYTES) return 503;
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  } finally {
    held -= size;
  }
}

const SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const CLONE_URL = /^(https?|ssh|git):\/\/[^\s]+$/;

/** A push as the payload says it, checked as `dispatch` checks its input; a string says why it is not one. */
function toPush(payload: PushPayload): Push | { malformed: string } {
  const repo = payload.repository?.full_name;
  if (typeof repo !== 'string' || typeof payload.ref !== 'string' || typeof payload.after !== 'string') {
    return { malformed: 'not a push payload: repository.full_name, ref and after must be strings' };
  }
  const cloneUrl = payload.repository?.clone_url ?? '';
  if (!isValidRef(payload.ref)) return { malformed: `ref ${JSON.stringify(payload.ref)} is not a valid git ref` };
  if (!SHA.test(payload.after)) return { malformed: `after ${JSON.stringify(payload.after)} is not a commit hash` };
  const deleted = payload.deleted === true || DELETED.test(payload.after);
  if (typeof cloneUrl !== 'string' || (cloneUrl !== '' && !CLONE_URL.test(cloneUrl))) return { malformed: 'repository.clone_url is not a clone URL' };
  const tag = payload.ref.startsWith('refs/tags/');
  const peeled = payload.head_commit?.id;
  const sha = tag && typeof peeled === 'string' && SHA.test(peeled) ? peeled : payload.after;
  const original = payload.repository?.original_url;
  const mirrorOf = payload.repository?.mirror === true && typeof original === 'string' && original !== '' ? original : undefined;
  return {
    repo,
    cloneUrl,
    ref: payload.ref,
    sha,
    fork: Boolean(payload.repository?.fork),
    archived: Boolean(payload.repository?.archived),
    tag,
    deleted,
    ...(mirrorOf ? { mirrorOf } : {}),
  };
}

/**
 * The payload of a delivery: JSON, or GitHub's form encoding (`payload=<json>`, the default of a
 * hook made by hand). The signature was checked over the raw body before this.
 */
function parsePayload(body: Buffer, contentType: string | undefined): PushPayload | undefined {
  const text = body.toString('utf8');
  const json = /^application\/x-www-form-urlencoded\b/i.test(contentType ?? '') ? new URLSearchParams(text).get('payload') : text;
  try {
    const parsed = JSON.parse(json ?? '') as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as PushPayload) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The webhook receiver: POST /hooks/github (X-Hub-Signature-256) and POST /hooks/gitea
 * (X-Gitea-Signature), GET /healthz. Every rejection happens before any handler runs, and is
 * logged: body over 25 MB 413, more than the body budget held 503, bad signature 401, not a
 * JSON object 400; GitHub's ping is answered.
 */
export function webhookServer(handlers: WebhookHandlers): Server {
  const answer = (res: ServerResponse, status: number, body: Record<string, unknown>) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(`${JSON.stringify(body)}\n`);
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/healthz') return answer(res, 200, { ok: true });
    if (handlers.pages?.(req, res)) return;
    const source = path === '/hooks/github' ? 'github' : path === '/hooks/gitea' ? 'gitea' : undefined;
    if (!source) return answer(res, 404, { error: 'not found: webhooks go to /hooks/github or /hooks/gitea' });
    if (req.method !== 'POST') return answer(res, 405, { error: 'POST only' });
    const reject = (response: ServerResponse, status: number, error: string) => {
      handlers.log?.(`${source} webhook rejected from ${req.socket.remoteAddress ?? '?'}: ${status} ${error}`);
      return answer(response, status, { error });
    };
    const handle = async () => {
      const body = await readBody(req);
      if (body === 413 || body === 503) {
        res.setHeader('Connection', 'close');
        if (body === 503) res.setHeader('Retry-After', '5');
        return reject(res, body, body === 413 ? `body over ${MAX_BODY_BYTES} bytes` : 'too many large deliveries at once: try again');
      }
      const signed =
        source === 'github'
          ? verifyGitHub(handlers.secret, body, req.headers['x-hub-signature-256'] as string | undefined)
          : verifyGitea(handlers.secret, body, req.headers['x-gitea-signature'] as string | undefined);
      if (!signed) return reject(res, 401, 'signature does not match');
      const payload = parsePayload(body, req.headers['content-type']);
      if (!payload) return reject(res, 400, 'body is not a JSON object (nor form-encoded payload=<JSON>)');
      const event = String(req.headers[source === 'github' ? 'x-github-event' : 'x-gitea-event'] ?? '');
      if (event === 'ping') return answer(res, 200, { ok: true, pong: true });
      if (event !== 'push') return answer(res, 202, { ignored: `event ${event || '(none)'}` });
      const push = toPush(payload);
      if ('malformed' in push) return reject(res, 400, push.malformed);
      const result = await (source === 'github' ? handlers.onGitHubPush(push) : handlers.onGiteaPush(push));
      handlers.log?.(`${source} push ${push.repo} ${push.ref} ${push.sha.slice(0, 12)}: ${result.status} ${JSON.stringify(result.body)}`);
      return answer(res, result.status, result.body);
    };
    handle().catch((error: unknown) => {
      handlers.log?.(`${source} webhook failed: ${(error as Error).message}`);
      if (!res.headersSent) answer(res, 500, { error: (error as Error).message });
    });
  });
  // a slow or stalled client cannot hold a connection: headers within 10 s, the whole request in 60 s
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.maxConnections = 256;
  return server;
}
