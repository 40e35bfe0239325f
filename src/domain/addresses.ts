/** Loopback, link-local or unspecified: an address only the node itself means (`host` or `host:port`). */
export function nodeLocalHost(host: string): boolean {
  const h = host.replace(/^\[([^\]]+)\](:\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '::1' || /^169\.254\./.test(h) || /^fe80:/.test(h) || h === '0.0.0.0' || h === '::';
}
