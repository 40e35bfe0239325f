/**
 * mutable-tag: a running container was started from a reference that can move
 * (no tag, `latest`, or a configured pattern) and is not pinned by digest. Info,
 * raised to warning when the pull policy is IfNotPresent or unknown: then the node
 * cache, not the registry, decides which code a new pod gets.
 */
import { formatRef, refName, tagRef } from '../domain/image-ref.js';
import type { Finding } from '../domain/report.js';
import type { Severity } from '../domain/finding-codes.js';
import type { CheckContext } from './types.js';
import { globToRegExp, isMutableTag } from '../domain/mutable-tags.js';
import { containerRef, groupBy } from './workload.js';



export function checkMutableTag(ctx: CheckContext): Finding[] {
  const patterns = ctx.options.mutableTagPatterns.map(globToRegExp);
  const hits = ctx.containers.filter(
    (v) =>
      v.record.state === 'running' &&
      v.requested !== undefined &&
      v.requested.digest === undefined &&
      isMutableTag(v.requested.tag, v.requested.implicitTag, patterns),
  );
  const severityOf = (policy: string | undefined): Severity =>
    policy === 'IfNotPresent' || policy === undefined ? 'warning' : 'info';
  const groups = groupBy(hits, (v) => `${tagRef(v.requested!)}|${severityOf(v.pullPolicy)}`);
  return [...groups.values()].map((views) => {
    const first = views[0]!;
    const ref = first.requested!;
    const severity = severityOf(first.pullPolicy);
    const policies = [...new Set(views.map((v) => v.pullPolicy ?? 'unknown'))].join(', ');
    const written = first.intent?.image ?? formatRef(ref);
    const why =
      severity === 'warning'
        ? 'with pull policy ' + policies + ' a node that already has this tag cached starts whatever it cached, not what the tag means now'
        : 'the tag can move: two pods of one workload may run different code';
    return {
      code: 'mutable-tag',
      severity,
      message: `${written} is a mutable reference (${ref.implicitTag ? 'no tag, so latest' : `tag ${ref.tag}`}), not pinned by digest; ${why}`,
      image: tagRef(ref),
      containers: views.map(containerRef),
      evidence: { tag: ref.tag, implicitTag: ref.implicitTag, pullPolicy: policies, runningDigest: first.runningDigest },
      remediation:
        `Deploy by digest (${refName(ref)}@${first.runningDigest ?? 'sha256:...'}) or publish each build under a unique, ` +
        `never-reused tag; if a moving tag is unavoidable, set imagePullPolicy: Always.`,
    } satisfies Finding;
  });
}
