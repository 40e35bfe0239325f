/** The request targets tagdrift's HTTP servers accept (the agent's API and the shared resolver). */

/**
 * Why a request target is refused, or undefined: only origin-form (`/path?query`) with a path of
 * plain characters. Absolute-form (`http://host/…`), asterisk-form (`*`), fragments, backslashes,
 * percent-encoding in the path (`/%761/report`, `%2e%2e`, `%2f`) and dot segments are refused,
 * so what is authorised is what is written.
 */
export function unacceptableTarget(target: string | undefined): string | undefined {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) return 'only origin-form request targets (/path) are accepted';
  const q = target.indexOf('?');
  const path = q >= 0 ? target.slice(0, q) : target;
  if (!/^[A-Za-z0-9._~/-]*$/.test(path)) return 'the request path may hold only letters, digits and . _ ~ - /';
  if (/(^|\/)\.{1,2}(\/|$)/.test(path)) return 'dot segments are not accepted in the request path';
  if (q >= 0 && /[#\s]/.test(target.slice(q))) return 'the query may not hold a fragment or whitespace';
  return undefined;
}
