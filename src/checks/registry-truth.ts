/**
 * Findings from registry evidence about tags rather than containers:
 *
 * - cache-stale (warning): a cached tag points to a digest other than upstream's and
 *   no running container uses that image — the next IfNotPresent pod starts old code.
 * - mirror-stale (critical): the mirror this node resolves tags through answers a
 *   different digest than upstream for the same tag.
 * - check-failed (info): a tag could not be verified at an endpoint, with the reason.
 */
import { refName, shortDigest, tryParseImageRef } from '../domain/image-ref.js';
import type { Finding } from '../domain/report.js';
import { answerNames, type RegistryErrorKind, type TagAnswer } from '../domain/registry-truth.js';
import { digestForName } from '../analyze/join.js';
import type { CheckContext } from './types.js';
import { buildMeta, containerRef } from './workload.js';

export function checkCacheStale(ctx: CheckContext): Finding[] {
  if (ctx.truth.size === 0) return [];
  const used = new Set(ctx.containers.filter((c) => c.record.state === 'running' && c.imageId).map((c) => c.imageId!));
  const images = ctx.snapshot.images.ok ? ctx.snapshot.images.value : [];
  const out: Finding[] = [];
  for (const image of images) {
    if (image.pinned || used.has(image.id)) continue;
    for (const t of image.repoTags) {
      const ref = tryParseImageRef(t);
      if (!ref?.tag || ref.digest) continue;
      const key = `${refName(ref)}:${ref.tag}`;
      const up = ctx.truth.get(key)?.upstream;
      const cached = digestForName(image, refName(ref));
      if (!up?.result.ok || !cached || answerNames(up.result, cached)) continue;
      out.push({
        code: 'cache-stale',
        severity: 'warning',
        message:
          `${key} is cached on this node as ${shortDigest(cached)}, but ${up.endpoint} now answers ${shortDigest(up.result.digest)}: ` +
          'the next pod that uses this tag with imagePullPolicy IfNotPresent starts the old build',
        image: key,
        containers: [],
        evidence: {
          cachedDigest: cached,
          registryDigest: up.result.digest,
          endpoint: up.endpoint,
          cachedImageId: image.id,
          ...buildMeta(ctx, 'cached', image.id),
          ...(up.result.build ? { registryBuild: up.result.build } : {}),
        },
        remediation:
          `On this node: crictl pull ${key}   (or crictl rmi ${key}) so new pods get the current build.\n` +
          'Lasting fix: unique tags (or digests) per build, or imagePullPolicy: Always for tags that move.',
      });
    }
  }
  return out;
}

export function checkMirrorStale(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  for (const [key, t] of ctx.truth) {
    const m = t.mirror;
    const u = t.upstream;
    if (!m?.result.ok || !u?.result.ok) continue;
    if (m.result.digest === u.result.digest || answerNames(u.result, m.result.digest)) continue;
    const views = ctx.containers.filter((c) => c.record.state === 'running' && c.requested && `${refName(c.requested)}:${c.requested.tag}` === key && !c.requested.digest);
    const source = ctx.registryPlans.flatMap((p) => p.endpoints).find((e) => e.url === m.endpoint)?.source;
    out.push({
      code: 'mirror-stale',
      severity: 'critical',
      message:
        `${m.endpoint} answers ${shortDigest(m.result.digest)} for ${key}, but upstream ${u.endpoint} answers ${shortDigest(u.result.digest)}: ` +
        'this node resolves the tag through the mirror, so every pull here gets the old digest',
      image: key,
      containers: views.map(containerRef),
      evidence: {
        mirrorDigest: m.result.digest,
        registryDigest: u.result.digest,
        endpoint: m.endpoint,
        upstreamEndpoint: u.endpoint,
        ...(source ? { configuredIn: source } : {}),
        ...(u.result.build ? { registryBuild: u.result.build } : {}),
      },
      remediation:
        `Refresh the mirror's copy of ${key} (or lower its cache TTL for tags).\n` +
        `Lasting fix: a caching mirror should serve blobs and digests only; drop "resolve" from its capabilities${source ? ` in ${source.split(' ')[0]}` : ''} so tags resolve upstream.`,
    });
  }
  return out;
}

const FAILED_FIX: Record<RegistryErrorKind, string> = {
  auth: 'Give the agent pull credentials for this registry: mount a docker config.json (e.g. the pull secret) and pass it as --registry-auth-file.',
  'not-found': 'The tag (or repository) does not exist at this endpoint: pods that use it cannot be re-created from the registry. Check the name and the mirror path.',
  'rate-limited': 'The registry is limiting requests; checks resume after its Retry-After. Authenticated requests get higher limits (--registry-auth-file).',
  unreachable: 'The node cannot reach this endpoint: check DNS, egress network policy and proxies from the node.',
  'server-error': 'The registry answered with a server error; checks are retried with backoff.',
  'invalid-response': 'The endpoint did not answer like a registry (an HTML login page, a proxy error, a wrong path or a broken manifest). Check the URL in the node configuration.',
};

export function checkFailed(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  for (const [key, t] of ctx.truth) {
    for (const a of [t.mirror, t.upstream] as (TagAnswer | undefined)[]) {
      if (!a || a.result.ok) continue;
      const views = ctx.containers.filter((c) => c.record.state === 'running' && c.requested && !c.requested.digest && `${refName(c.requested)}:${c.requested.tag}` === key);
      out.push({
        code: 'check-failed',
        severity: 'info',
        message: `${key} could not be verified at ${a.endpoint} (${a.role}): ${a.result.kind}: ${a.result.message}. It is reported neither fresh nor stale.`,
        image: key,
        containers: views.map(containerRef),
        evidence: { endpoint: a.endpoint, role: a.role, reason: a.result.kind, detail: a.result.message },
        remediation: FAILED_FIX[a.result.kind],
      });
    }
  }
  return out;
}
