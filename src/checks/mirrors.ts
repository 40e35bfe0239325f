/**
 * Findings from registry evidence about tags rather than containers, read as
 * containerd walks its hosts (domain/tag-truth.ts `truthByTag`):
 *
 * - cache-stale (warning): a cached tag gives this node's platform another image
 *   than upstream's and no running container uses it — the next IfNotPresent pod
 *   starts old code.
 * - mirror-stale (critical): the mirror that answers this node's tag resolve (the
 *   first resolve-capable host that answers) gives another image than upstream.
 * - mirror-skipped (info): a resolve-capable mirror containerd passes over (404,
 *   refused, 5xx, down), once per mirror, naming the tags and who answered instead.
 * - check-failed (info): the registry itself, or a host whose answer leaves the
 *   node's resolve unknown, could not be asked, with the reason.
 *
 * When the node platform's image behind a moved index could not be read, a finding
 * says so and is lowered one level: it is never critical on an unverified platform.
 */
import { refName, shortDigest, tryParseImageRef } from '../domain/image-ref.js';
import type { Finding } from '../domain/report.js';
import { compareAnswers, compareWithLocal, formatSeconds, lagSince, movedNote, type RegistryErrorKind, type TagAnswer, type TagUnverified } from '../domain/tag-truth.js';
import { digestForName } from '../domain/join.js';
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
      if (!up?.result.ok || !cached) continue;
      const same = compareWithLocal(up.result, { digest: cached, imageId: image.id });
      if (same === 'same') continue;
      const p = up.result.platformImage;
      out.push({
        code: 'cache-stale',
        severity: same === 'changed' ? 'warning' : 'info',
        message:
          `${key} is cached on this node as ${shortDigest(cached)}, but ${up.endpoint} now answers ${shortDigest(up.result.digest)}${movedNote(up.result.since)}` +
          (p ? ` (${p.platform} image ${shortDigest(image.id)} → ${shortDigest(p.config)})` : '') +
          ': the next pod that uses this tag with imagePullPolicy IfNotPresent starts the old build' +
          (same === 'unverified' ? `. Whether this node's platform image changed could not be verified (${up.result.platformUnverified ?? 'not read'}).` : ''),
        image: key,
        containers: [],
        evidence: {
          cachedDigest: cached,
          registryDigest: up.result.digest,
          endpoint: up.endpoint,
          cachedImageId: image.id,
          ...(p ? { platform: p.platform, registryPlatformManifest: p.manifest, registryImageId: p.config } : {}),
          ...(same === 'unverified' ? { platformVerified: false } : {}),
          ...buildMeta(ctx, 'cached', image.id),
          ...(up.result.build ? { registryBuild: up.result.build } : {}),
          ...(up.result.since ? { registrySince: up.result.since } : {}),
        },
        remediation:
          `On this node: crictl pull ${key}   (or crictl rmi ${key}) so new pods get the current build.\n` +
          'Lasting fix: unique tags (or digests) per build, or imagePullPolicy: Always for tags that move.',
      });
    }
  }
  return out;
}

function runningOn(ctx: CheckContext, key: string) {
  return ctx.containers.filter((c) => c.record.state === 'running' && c.requested && !c.requested.digest && `${refName(c.requested)}:${c.requested.tag}` === key);
}

function sourceOf(ctx: CheckContext, endpoint: string): string | undefined {
  return ctx.registryPlans.flatMap((p) => p.endpoints).find((e) => e.url === endpoint)?.source;
}

export function checkMirrorStale(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const configUncertain = ctx.registry?.mirrorsUncertain ?? false;
  for (const [key, t] of ctx.truth) {
    const m = t.resolver;
    const u = t.upstream;
    if (!m || m.role !== 'mirror' || !m.result.ok || !u?.result.ok || m.endpoint === u.endpoint) continue;
    const same = compareAnswers(m.result, u.result);
    if (same === 'same') continue;
    const views = runningOn(ctx, key);
    const source = sourceOf(ctx, m.endpoint);
    const skipped = t.skipped.map((s) => s.endpoint);
    const p = u.result.platformImage;
    const mp = m.result.platformImage;
    const lag = lagSince(u.result.since, ctx.snapshot.collectedAt);
    out.push({
      code: 'mirror-stale',
      severity: same === 'changed' && !configUncertain ? 'critical' : 'warning',
      message:
        `${m.endpoint} answers ${shortDigest(m.result.digest)} for ${key}, but upstream ${u.endpoint} answers ${shortDigest(u.result.digest)}` +
        (p && mp ? ` (${p.platform} image ${shortDigest(mp.config)} vs ${shortDigest(p.config)})` : '') +
        (lag ? `; it has been behind for ${lag.atLeast ? 'at least ' : ''}${formatSeconds(lag.seconds)}${movedNote(u.result.since)}` : '') +
        `: this node resolves the tag through ${skipped.length > 0 ? `this mirror (after passing over ${skipped.join(', ')})` : 'the mirror'}, so every pull here gets the mirror's digest` +
        (same === 'unverified' ? `. Whether the image for this node's platform differs could not be verified (${u.result.platformUnverified ?? m.result.platformUnverified ?? 'not read'}).` : '') +
        (configUncertain ? '. The mirror comes from a drop-in this containerd release may not load (see config-version-dependent).' : ''),
      image: key,
      containers: views.map(containerRef),
      evidence: {
        mirrorDigest: m.result.digest,
        registryDigest: u.result.digest,
        endpoint: m.endpoint,
        upstreamEndpoint: u.endpoint,
        ...(m.position !== undefined ? { chainPosition: m.position } : {}),
        ...(skipped.length > 0 ? { skippedBefore: skipped } : {}),
        ...(source ? { configuredIn: source } : {}),
        ...(p ? { platform: p.platform, registryImageId: p.config } : {}),
        ...(mp ? { mirrorImageId: mp.config } : {}),
        ...(same === 'unverified' ? { platformVerified: false } : {}),
        ...(configUncertain ? { configVersionDependent: true } : {}),
        ...(u.result.build ? { registryBuild: u.result.build } : {}),
        ...(u.result.since ? { registrySince: u.result.since } : {}),
        ...(lag ? { lagSeconds: lag.seconds, ...(lag.atLeast ? { lagAtLeast: true as const } : {}) } : {}),
      },
      remediation:
        `Refresh ${m.endpoint}'s copy of ${key} (or lower its cache TTL for tags).\n` +
        `Lasting fix: a caching mirror should serve blobs and digests only; drop "resolve" from its capabilities${source ? ` in ${source.split(' ')[0]}` : ''} so tags resolve upstream.`,
    });
  }
  return out;
}

const SKIP_REASON: Record<RegistryErrorKind, string> = {
  'not-found': 'does not have it (404)',
  auth: 'refuses the request (401/403)',
  'server-error': 'fails with a server error',
  unreachable: 'cannot be reached',
  'rate-limited': 'is rate limiting',
  'invalid-response': 'answers something that is not a registry answer',
};

export function checkMirrorSkipped(ctx: CheckContext): Finding[] {
  const byEndpoint = new Map<string, { answers: { key: string; a: TagAnswer; next: TagAnswer | undefined }[] }>();
  for (const [key, t] of ctx.truth) {
    for (const a of t.skipped) {
      if (a.role !== 'mirror') continue;
      const e = byEndpoint.get(a.endpoint) ?? { answers: [] };
      e.answers.push({ key, a, next: t.resolver });
      byEndpoint.set(a.endpoint, e);
    }
  }
  const out: Finding[] = [];
  for (const [endpoint, { answers }] of byEndpoint) {
    const reasons = [...new Set(answers.map(({ a }) => SKIP_REASON[(a.result as TagUnverified).kind]))];
    const then = [...new Set(answers.map(({ next }) => next?.endpoint).filter((x): x is string => !!x))];
    const tags = answers.map(({ key }) => key).sort();
    const source = sourceOf(ctx, endpoint);
    out.push({
      code: 'mirror-skipped',
      severity: 'info',
      message:
        `containerd passes over ${endpoint} for ${tags.length === 1 ? tags[0] : `${tags.length} tags`}: it ${reasons.join(', ')}` +
        (then.length > 0 ? `; the tag${tags.length === 1 ? ' is' : 's are'} resolved through ${then.join(', ')}` : '; no later host answered either'),
      image: tags.length === 1 ? tags[0] : undefined,
      containers: tags.flatMap((k) => runningOn(ctx, k)).map(containerRef),
      evidence: {
        endpoint,
        tags,
        reasons: answers.map(({ key, a }) => ({ tag: key, reason: (a.result as TagUnverified).kind, detail: (a.result as TagUnverified).message })),
        ...(then.length > 0 ? { resolvedThrough: then } : {}),
        ...(source ? { configuredIn: source } : {}),
      },
      remediation:
        'Nothing breaks: each pull waits for this host before moving on. If the mirror should serve these repositories, check its upstream ' +
        `and path; if it should not, drop "resolve" from its capabilities${source ? ` in ${source.split(' ')[0]}` : ''} (a mirror that serves only some repositories is expected to answer 404 for the rest).`,
    });
  }
  return out;
}

const FAILED_FIX: Record<RegistryErrorKind, string> = {
  auth: 'Give the agent pull credentials for this registry: mount a docker config.json (e.g. the pull secret) and pass it as --registry-auth-file. A username and password (or auth) in the node\'s own config.toml registry.configs."<host>".auth are used without it.',
  'not-found': 'The tag (or repository) does not exist at this endpoint: pods that use it cannot be re-created from the registry. Check the name and the mirror path.',
  'rate-limited': 'The registry is limiting requests; checks resume after its Retry-After. Authenticated requests get higher limits (--registry-auth-file).',
  unreachable: 'The node cannot reach this endpoint: check DNS, egress network policy and proxies from the node.',
  'server-error': 'The registry answered with a server error; checks are retried with backoff.',
  'invalid-response': 'The endpoint did not answer like a registry (an HTML login page, a proxy error, a wrong path or a broken manifest). Check the URL in the node configuration.',
};

export function checkFailed(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  for (const [key, t] of ctx.truth) {
    const failed: TagAnswer[] = [];
    if (t.undetermined) failed.push(t.undetermined);
    if (t.upstream && !t.upstream.result.ok && t.upstream !== t.undetermined) failed.push(t.upstream);
    for (const a of failed) {
      if (a.result.ok) continue;
      const views = runningOn(ctx, key);
      const served = a.role === 'upstream' && t.resolver && t.resolver.endpoint !== a.endpoint ? t.resolver.endpoint : undefined;
      const what = a === t.undetermined && a.role === 'mirror' ? 'the node resolves it through this mirror, so what it gets is unknown' : 'it is reported neither fresh nor stale';
      out.push({
        code: 'check-failed',
        severity: 'info',
        message: `${key} could not be verified at ${a.endpoint} (${a.role}): ${a.result.kind}: ${a.result.message}. ${what[0]!.toUpperCase()}${what.slice(1)}.` +
          (served ? ` This node resolves it through ${served}, which answered.` : ''),
        image: key,
        containers: views.map(containerRef),
        evidence: { endpoint: a.endpoint, role: a.role, reason: a.result.kind, detail: a.result.message, ...(served ? { resolvedThrough: served } : {}) },
        remediation: a.result.kind === 'not-found' && served
          ? `Upstream does not have this tag; only ${served} serves it to this node. Check the name, or push the tag upstream before that mirror loses it.`
          : FAILED_FIX[a.result.kind],
      });
    }
  }
  return out;
}
