import { createHmac, timingSafeEqual } from 'node:crypto';

const hmac = (secret: string, body: Buffer) => createHmac('sha256', secret).update(body).digest();

function equalHex(expected: Buffer, given: string | undefined): boolean {
  if (!given || !/^[0-9a-f]{64}$/i.test(given)) return false;
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, compared in constant time. */
export const verifyGitHub = (secret: string, body: Buffer, header: string | undefined) => equalHex(hmac(secret, body), header?.replace(/^sha256=/, ''));

/** Gitea: `X-Gitea-Signature: <hex HMAC-SHA256 of the body>`. */
export const verifyGitea = (secret: string, body: Buffer, header: string | undefined) => equalHex(hmac(secret, body), header);
