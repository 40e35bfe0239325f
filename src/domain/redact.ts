/**
 * Redaction of what a node's files may carry in a URL (CVE-2020-8564 class: credentials
 * written into URLs end up in logs, reports and tables).
 */

/** The URL without `user:password@` (up to the last `@` of the authority: passwords may hold one). */
export function withoutUserinfo(url: string): string {
  return url.replace(/^((?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/)?[^/?#]*@/, '$1');
}

/** A URL-ish value from a file, safe to quote in a message: no userinfo, at most 100 characters, JSON-quoted. */
export function quoteUrl(raw: string): string {
  return JSON.stringify(withoutUserinfo(raw).slice(0, 100));
}
