import { isIP } from 'node:net';

/** An IP address, v4 or v6 (bracketed as in a URL's hostname), rather than a name. */
export const isIpAddress = (host: string) => isIP(host.replace(/^\[(.*)\]$/, '$1')) !== 0;

/** A name an Ingress rule can match on: not an address, not localhost. */
export const isNamedHost = (host: string) => !isIpAddress(host) && host !== 'localhost';
