import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Resolves a host name to its addresses, once; injectable so tests can play DNS. */
export type HostResolver = (hostname: string) => Promise<string[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

export interface GuardPolicy {
  /** Lifts the address and port checks (development and tests). */
  allowPrivate: boolean;
  allowedPorts: readonly number[];
}

/** Why a URL or address may not be called; `field` is what a problem body names. */
export class ForbiddenTarget extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ForbiddenTarget';
  }
}

/**
 * Why an address may not be called, or null when it is a public unicast address. Anything
 * ipaddr.js does not class as plain `unicast` is refused: loopback, private, link-local (the
 * cloud metadata address among them), CGNAT, multicast, broadcast, unspecified, unique local
 * (fc00::/7, fd00:ec2::254 among them), reserved, documentation and the IPv6 ranges that embed
 * an IPv4 address (mapped, 6to4, Teredo, NAT64). IPv4-mapped IPv6 is judged as its IPv4 address.
 */
export function forbiddenAddress(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  return range === 'unicast' ? null : range;
}

export interface CheckedUrl {
  url: URL;
  /** The host without IPv6 brackets. */
  hostname: string;
  port: number;
  /** Set when the host is an IP literal (in whatever notation it was written). */
  literal: string | null;
}

/**
 * Checks what can be checked without DNS: scheme, credentials, port and, for an IP literal, the
 * address. The WHATWG parser turns every IPv4 notation (`2130706433`, `0177.0.0.1`, `0x7f.1`)
 * into dotted decimal first, so a literal cannot hide behind its spelling.
 */
export function checkUrlShape(raw: string, policy: GuardPolicy): CheckedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ForbiddenTarget('is not an absolute URL', 'invalid_url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ForbiddenTarget('must use http or https', 'scheme_not_allowed');
  }
  if (url.username !== '' || url.password !== '') {
    throw new ForbiddenTarget('must not carry credentials', 'credentials_not_allowed');
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (hostname === '') throw new ForbiddenTarget('has no host', 'invalid_url');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const literal = isIP(hostname) === 0 ? null : hostname;
  if (!policy.allowPrivate) {
    if (!policy.allowedPorts.includes(port)) {
      throw new ForbiddenTarget(
        `uses port ${port}; allowed: ${policy.allowedPorts.join(', ')}`,
        'port_not_allowed',
      );
    }
    const name = hostname.toLowerCase().replace(/\.$/, '');
    if (name === 'localhost' || name.endsWith('.localhost')) {
      throw new ForbiddenTarget('names the local host', 'address_not_allowed');
    }
    if (literal !== null) assertPublic(literal);
  }
  return { url, hostname, port, literal };
}

function assertPublic(address: string): void {
  const reason = forbiddenAddress(address);
  if (reason !== null) {
    throw new ForbiddenTarget(
      `points to ${address}, a ${reason} address that webhooks may not reach`,
      'address_not_allowed',
    );
  }
}

/**
 * Resolves the URL's host once and checks every address it has; the caller connects to the
 * returned address and no other, so a second lookup (DNS rebinding) cannot change the target.
 */
export async function resolveTarget(
  checked: CheckedUrl,
  policy: GuardPolicy,
  resolve: HostResolver,
): Promise<string> {
  if (checked.literal !== null) return checked.literal;
  let addresses: string[];
  try {
    addresses = await resolve(checked.hostname);
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'lookup failed';
    throw new ForbiddenTarget(`host ${checked.hostname} does not resolve (${code})`, 'dns_failed');
  }
  const first = addresses[0];
  if (first === undefined) {
    throw new ForbiddenTarget(`host ${checked.hostname} has no address`, 'dns_failed');
  }
  if (!policy.allowPrivate) for (const address of addresses) assertPublic(address);
  return first;
}
