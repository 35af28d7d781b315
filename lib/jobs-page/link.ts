import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Links to job pages carry a token: an HMAC-SHA256 of the job id under a key derived from the
 * webhook secret, so serve keeps no state for them, nobody without the secret can make one, a
 * link opens one job only, and rotating the secret revokes them all. The key is derived (not
 * the secret itself) so no token is ever a signature a webhook delivery could reuse.
 */
const keyOf = (secret: string) => createHmac('sha256', secret).update('raibid job pages').digest();

const tokenFor = (secret: string, subject: string) => createHmac('sha256', keyOf(secret)).update(subject).digest('base64url').slice(0, 32);

export const jobToken = (secret: string, id: string) => tokenFor(secret, `job ${id}`);
export const listToken = (secret: string) => tokenFor(secret, 'list');

export function tokenMatches(expected: string, given: string | null): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given ?? '');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The page a commit status links to, under serve's public URL. */
export function jobPageUrl(publicUrl: string, secret: string, id: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/jobs/${encodeURIComponent(id)}?t=${jobToken(secret, id)}`;
}
