import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a webhook may reach. In production (NODE_ENV=production) a webhook must not be a
 * way into the platform's own network (SSRF): loopback, private, link-local, carrier-grade NAT,
 * multicast and reserved addresses are refused, unless the URL's host is listed in
 * WEBHOOK_ALLOWED_HOSTS. The check runs when a webhook is created or changed, and again on every
 * connection (the address the connection actually uses), so a name that later resolves elsewhere
 * (DNS rebinding) gains nothing.
 */
export interface AddressPolicy {
  /** Refuse non-public addresses (production). */
  blockPrivate: boolean;
  /** Host names or IP literals exempt from the check (lower-case). */
  allowedHosts: ReadonlySet<string>;
}

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is loopback, private, link-local, multicast or otherwise not public. */
export function isNonPublicAddress(address: string): boolean {
  const lower = address.toLowerCase().replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(lower);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  const family = isIP(lower);
  if (family === 4) return blocked.check(lower, 'ipv4');
  if (family === 6) return blocked.check(lower, 'ipv6');
  return true; // not an address at all
}

/** The URL's host as written (without IPv6 brackets), lower-case. */
export function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
}

/** Why the policy refuses this host at this address, or null when it may be reached. */
export function refusal(policy: AddressPolicy, host: string, address: string): string | null {
  if (!policy.blockPrivate || policy.allowedHosts.has(host) || policy.allowedHosts.has(address.toLowerCase())) return null;
  if (!isNonPublicAddress(address)) return null;
  return `${host}${host === address ? '' : ` (${address})`} is a loopback, private, link-local or reserved address: refused in production unless WEBHOOK_ALLOWED_HOSTS lists it`;
}

/**
 * Why a webhook URL may not be used under the policy (every address its host resolves to is
 * checked), or null. A host that does not resolve is refused too: nothing could be delivered.
 */
export async function urlRefusal(policy: AddressPolicy, url: string): Promise<string | null> {
  if (!policy.blockPrivate) return null;
  const parsed = new URL(url);
  const host = hostOf(parsed);
  if (policy.allowedHosts.has(host)) return null;
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (error) {
      return `host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'lookup failed'})`;
    }
  }
  for (const address of addresses) {
    const problem = refusal(policy, host, address);
    if (problem !== null) return problem;
  }
  return null;
}
