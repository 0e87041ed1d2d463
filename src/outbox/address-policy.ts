/**
 * Where webhooks may go (SSRF protection). A webhook URL is chosen by an organisation's admin, but
 * the request leaves from inside the operator's network: without a check it could reach the
 * database, a cloud metadata service (169.254.169.254) or anything else on a private network.
 *
 * Every address a host name resolves to must be public: not loopback, private (RFC 1918, unique
 * local), link-local, carrier-grade NAT, multicast, documentation, benchmarking or otherwise
 * reserved, for IPv4 and IPv6 (an IPv6 address embedding an IPv4 one, mapped, compatible,
 * translated or NAT64, is judged by its IPv4 part). The check runs when the connection is made (the
 * HTTP client's `lookup`), on the addresses it connects to, so a name that resolves differently
 * later (DNS rebinding) is caught too. An operator allows
 * particular networks (SPEECHMARK_WEBHOOK_ALLOW_PRIVATE_NETWORKS=10.1.2.0/24,fd00::/8) or all of
 * them (=true), e.g. for a receiver on the same host in development.
 */
import net from 'node:net';
import { badInput } from '../errors.js';

const V4_RESERVED = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local (cloud metadata services)
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation
  '192.88.99.0/24', // 6to4 relay anycast (deprecated)
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation
  '203.0.113.0/24', // documentation
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and 255.255.255.255 broadcast
];
const V6_RESERVED = [
  '::/128', // unspecified
  '::1/128', // loopback
  '100::/64', // discard
  '2001::/23', // IETF protocol assignments (Teredo, benchmarking, ORCHID...)
  '2001:db8::/32', // documentation
  '2002::/16', // 6to4: embeds an IPv4 address; refused rather than decoded
  '64:ff9b:1::/48', // local-use NAT64 (RFC 8215): not global, and its IPv4 may sit anywhere in it
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated)
  'ff00::/8', // multicast
];

function blockList(cidrs: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/');
    const family = net.isIPv6(address!) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address!, family);
    else list.addSubnet(address!, Number(bits), family);
  }
  return list;
}

const RESERVED_V4 = blockList(V4_RESERVED);
const RESERVED_V6 = blockList(V6_RESERVED);

/** The eight 16-bit groups of a valid IPv6 address in any textual form (a zone id ignored). */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const [head, tail] = text.split('::');
  const before = groups(head);
  const after = groups(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/**
 * The IPv4 address an IPv6 address embeds in its last 32 bits, judged by the IPv4 rules: IPv4-mapped
 * (::ffff:0:0/96), IPv4-compatible (::/96, deprecated, and so :: and ::1 too), IPv4-translated
 * (::ffff:0:0:0/96) and NAT64 (64:ff9b::/96). Parsed from the groups, not matched as text, so
 * every way of writing them (`0:0:0:0:0:ffff:7f00:1`, `::127.0.0.1`) is caught.
 */
function embeddedV4(address: string): string | null {
  const g = v6Groups(address);
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const embeds =
    (zero(0, 5) && g[5] === 0xffff) || // mapped
    zero(0, 6) || // compatible
    (zero(0, 4) && g[4] === 0xffff && g[5] === 0) || // translated
    (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)); // NAT64, well-known prefix
  if (!embeds) return null;
  return [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join('.');
}

/** Whether an IP address is publicly routable (false for anything reserved, as listed above). */
export function isPublicAddress(address: string): boolean {
  if (net.isIPv4(address)) return !RESERVED_V4.check(address, 'ipv4');
  if (!net.isIPv6(address)) return false;
  const v4 = embeddedV4(address);
  if (v4) return isPublicAddress(v4);
  return !RESERVED_V6.check(address, 'ipv6');
}

export class AddressPolicy {
  private readonly allowAll: boolean;
  private readonly allowed: net.BlockList;

  /** `allowedPrivate`: CIDRs or single addresses that may be reached although not public; `true`: all. */
  constructor(allowedPrivate: readonly string[] | true = []) {
    this.allowAll = allowedPrivate === true;
    const list = allowedPrivate === true ? [] : [...allowedPrivate];
    for (const entry of list) {
      const [address, bits] = entry.split('/');
      if (!net.isIP(address!) || (bits !== undefined && !/^\d{1,3}$/.test(bits))) {
        throw new Error(`SPEECHMARK_WEBHOOK_ALLOW_PRIVATE_NETWORKS: "${entry}" is not an address or CIDR`);
      }
    }
    this.allowed = blockList(list);
  }

  /**
   * null when `address` may be connected to, else why not. Given `host` (the name that resolved to
   * `address`), the reason names the host only: it is stored on the delivery, which the
   * organisation's admins read, and which internal address a name resolves to is the operator's to
   * know (the caller logs it).
   */
  refusal(address: string, host?: string): string | null {
    if (this.allowAll || isPublicAddress(address)) return null;
    const v4 = net.isIPv6(address) ? embeddedV4(address) : null;
    const family = net.isIPv4(address) ? 'ipv4' : 'ipv6';
    if (this.allowed.check(address, family) || (v4 !== null && this.allowed.check(v4, 'ipv4'))) return null;
    const what = host === undefined ? `${address} is not a public address` : `the address of ${host} is not allowed: it is not a public address`;
    return `${what} (private, loopback, link-local or reserved); an operator can allow it with SPEECHMARK_WEBHOOK_ALLOW_PRIVATE_NETWORKS`;
  }
}

export const MAX_URL_CHARS = 2048;

/**
 * A webhook URL as an admin may register it: absolute http(s) (http only when the operator allows
 * it), no credentials, and when the host is an IP literal or `localhost`, an allowed address. Host
 * names are checked again on every connection (their addresses may change).
 */
export function validateEndpointUrl(raw: string, policy: AddressPolicy, allowHttp: boolean, argument: string): string {
  const bad = (message: string) => badInput(message, argument);
  const name = argument.split('.').pop();
  const text = raw.trim();
  if (text.length === 0 || text.length > MAX_URL_CHARS) throw bad(`${name} must be 1 to ${MAX_URL_CHARS} characters.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(`${name} ${JSON.stringify(text)} is not an absolute URL.`);
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw bad(
      allowHttp
        ? `${name} must be http:// or https:// (got ${url.protocol}).`
        : `${name} must be https:// (got ${url.protocol}); an operator can allow http:// with SPEECHMARK_WEBHOOK_ALLOW_HTTP.`,
    );
  }
  if (url.username || url.password) throw bad(`${name} must not contain credentials; receivers verify the webhook signature instead.`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const refusal = net.isIP(host)
    ? policy.refusal(host)
    : /^localhost\.?$|\.localhost\.?$/i.test(host)
      ? policy.refusal('127.0.0.1')
      : null;
  if (refusal) throw bad(`${name} refused: ${refusal}.`);
  url.hash = '';
  return url.toString();
}
