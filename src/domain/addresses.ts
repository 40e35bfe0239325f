/** Loopback, link-local or unspecified: an address only the node itself means (`host` or `host:port`). */
export function nodeLocalHost(host: string): boolean {
  const h = host.replace(/^\[([^\]]+)\](:\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  // An address literal is judged by what it is (::ffff:127.0.0.1 is loopback too), not how it is spelled.
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h) || h.includes(':')) {
    const why = forbiddenAddress(h);
    return why !== undefined && why !== 'not an IP address';
  }
  return false;
}

/** An IPv6 address as eight 16-bit groups, or undefined when `s` is not one. */
function ipv6Groups(s: string): number[] | undefined {
  let text = s.toLowerCase();
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const parts = v4[2]!.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    text = `${v4[1]}${((parts[0]! << 8) | parts[1]!).toString(16)}:${((parts[2]! << 8) | parts[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return undefined;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

/**
 * Why a remote address must not be contacted by a service that fetches what callers name
 * (the shared resolver), or undefined when it may be. Decided on the address itself, however it
 * was written: IPv4-mapped and -compatible IPv6 are read as the IPv4 address they carry.
 * Refused: loopback, unspecified, link-local (cloud metadata at 169.254.169.254 and
 * fd00:ec2::254), and any range in `denied` (the cluster's service and pod ranges).
 */
export function forbiddenAddress(ip: string, denied: readonly Cidr[] = []): string | undefined {
  let v4: number[] | undefined;
  let v6: number[] | undefined;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) v4 = ip.split('.').map(Number);
  else {
    v6 = ipv6Groups(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
    if (!v6) return 'not an IP address';
    if (v6.slice(0, 5).every((g) => g === 0) && (v6[5] === 0xffff || (v6[5] === 0 && (v6[6] !== 0 || v6[7]! > 1)))) {
      v4 = [v6[6]! >> 8, v6[6]! & 255, v6[7]! >> 8, v6[7]! & 255];
      v6 = undefined;
    }
  }
  if (v4) {
    if (v4.some((p) => p > 255)) return 'not an IP address';
    if (v4[0] === 127) return 'a loopback address';
    if (v4[0] === 0) return 'an unspecified address';
    if (v4[0] === 169 && v4[1] === 254) return 'a link-local address (cloud metadata lives there)';
    if (v4[0] === 100 && v4[1] === 100 && v4[2] === 100 && v4[3] === 200) return 'a cloud metadata address';
    for (const c of denied) if (c.family === 4 && inCidr(v4, c)) return `in the denied range ${c.text}`;
    return undefined;
  }
  const g = v6!;
  if (g.every((x) => x === 0)) return 'an unspecified address';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'a loopback address';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'a link-local address';
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254) return 'a cloud metadata address';
  for (const c of denied) if (c.family === 6 && inCidr(g, c)) return `in the denied range ${c.text}`;
  return undefined;
}

export interface Cidr {
  readonly family: 4 | 6;
  /** Address parts: four octets, or eight 16-bit groups. */
  readonly parts: readonly number[];
  readonly bits: number;
  readonly text: string;
}

/** `10.96.0.0/12` or `fd00:10:96::/112`, or undefined when it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const bits = Number(m[2]);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(m[1]!)) {
    const parts = m[1]!.split('.').map(Number);
    return parts.every((p) => p <= 255) && bits <= 32 ? { family: 4, parts, bits, text: text.trim() } : undefined;
  }
  const parts = ipv6Groups(m[1]!);
  return parts && bits <= 128 ? { family: 6, parts, bits, text: text.trim() } : undefined;
}

function inCidr(addr: readonly number[], c: Cidr): boolean {
  const width = c.family === 4 ? 8 : 16;
  let left = c.bits;
  for (let i = 0; i < addr.length && left > 0; i++, left -= width) {
    const take = Math.min(width, left);
    const mask = ((1 << take) - 1) << (width - take);
    if ((addr[i]! & mask) !== (c.parts[i]! & mask)) return false;
  }
  return true;
}
