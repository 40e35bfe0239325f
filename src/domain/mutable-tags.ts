/** Which tags are mutable: no tag at all, or one matching a pattern (`*` matches any run of characters). */
export const DEFAULT_MUTABLE_TAG_PATTERNS: readonly string[] = [
  'latest', 'main', 'master', 'develop', 'dev', 'edge', 'nightly', 'canary', 'stable',
  'head', 'prod', 'production', 'staging', 'snapshot', '*-latest', '*-snapshot',
];

export function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

export function isMutableTag(tag: string | undefined, implicit: boolean, patterns: readonly RegExp[]): boolean {
  if (implicit || tag === undefined) return true;
  return patterns.some((re) => re.test(tag));
}
