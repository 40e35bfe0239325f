/**
 * What each running container runs compared with what its tag means now. Each
 * container gets at most one finding here:
 *
 * - running-stale (critical): upstream's tag gives this node's platform another
 *   image, and the node does not hold it — a restart alone would not help.
 * - running-superseded (warning): the node already holds what the tag points to
 *   (upstream's answer, or without one the node's own tag) and the container runs
 *   an older image — a restart fixes it.
 * - tag-republished (info): the tag's index digest moved, but the image the node's
 *   platform runs from it did not (another platform or an attestation changed).
 *
 * Sameness is decided per platform (domain/tag-truth.ts `compareWithLocal`):
 * an index digest alone proves nothing. When the node platform's image behind a
 * moved index could not be read, the finding says so and is not critical. A tag
 * whose registry answer failed is never called fresh or stale from the registry:
 * only the node's own evidence (the local tag moved) is used then.
 */
import { refName, shortDigest, tagRef } from '../domain/image-ref.js';
import type { Finding } from '../domain/report.js';
import { compareWithLocal, movedNote, type PlatformImage, type TagResolved } from '../domain/tag-truth.js';
import { digestForName, type ContainerView } from '../domain/join.js';
import type { CheckContext } from './types.js';
import { buildMeta, canPin, containerRef, groupBy, pinCommands, plural, restartCommands } from './workload.js';

interface Hit {
  view: ContainerView;
  tag: string;
  verdict: 'stale' | 'superseded' | 'republished';
  /** False when the node platform's image behind a moved index could not be read. */
  verified: boolean;
  /** What the tag points to now: upstream's digest, else the node's tag. */
  nowDigest: string | undefined;
  nowImageId: string | undefined;
  upstream: { endpoint: string; result: TagResolved } | undefined;
  /** The mirror this node resolves the tag through, when it answers what the container runs. */
  oldMirror: { endpoint: string; digest: string } | undefined;
}

const LASTING = 'Lasting fix: publish each build under a unique tag (or deploy by digest) so a tag never moves under running pods.';

export function checkRunning(ctx: CheckContext): Finding[] {
  const hits: Hit[] = [];
  for (const view of ctx.containers) {
    if (view.record.state !== 'running' || !view.requested || view.requested.digest || !view.imageId) continue;
    const tag = tagRef(view.requested);
    if (!tag) continue;
    const name = refName(view.requested);
    const truth = ctx.truth.get(tag);
    const up = truth?.upstream;
    const local = { digest: view.runningDigest, imageId: view.imageId };
    if (up?.result.ok) {
      const same = compareWithLocal(up.result, local);
      const held = ctx.nodeImageFor(name, up.result);
      const base = { view, tag, nowDigest: up.result.digest, upstream: { endpoint: up.endpoint, result: up.result }, oldMirror: undefined };
      if (same === 'same' || held?.id === view.imageId) {
        if (up.result.digest !== view.runningDigest) hits.push({ ...base, verdict: 'republished', verified: true, nowImageId: view.imageId });
        continue;
      }
      if (same === 'unverified' && !view.runningDigest) continue;
      const r = truth?.resolver;
      const oldMirror =
        r && r.role === 'mirror' && r.result.ok && compareWithLocal(r.result, local) === 'same' ? { endpoint: r.endpoint, digest: r.result.digest } : undefined;
      hits.push({
        ...base,
        verdict: held ? 'superseded' : 'stale',
        verified: same === 'changed' || held !== undefined,
        nowImageId: held?.id ?? up.result.platformImage?.config,
        oldMirror,
      });
      continue;
    }
    // No registry answer: the node's own tag is the only evidence.
    const nodeImage = ctx.index.imageByTag.get(tag);
    if (!nodeImage || nodeImage.id === view.imageId) continue;
    hits.push({ view, tag, verdict: 'superseded', verified: true, nowDigest: digestForName(nodeImage, name), nowImageId: nodeImage.id, upstream: undefined, oldMirror: undefined });
  }
  const groups = groupBy(hits, (h) => `${h.verdict}|${h.verified}|${h.tag}|${h.view.imageId}|${h.nowDigest ?? h.nowImageId}|${h.oldMirror?.endpoint ?? ''}`);
  return [...groups.values()].map((group) => {
    const v = group[0]!.verdict;
    return v === 'stale' ? stale(ctx, group) : v === 'superseded' ? superseded(ctx, group) : republished(group);
  });
}

function platformEvidence(p: PlatformImage | undefined): Record<string, unknown> {
  return p ? { platform: p.platform, registryPlatformManifest: p.manifest, registryImageId: p.config } : {};
}

function unverifiedNote(h: Hit): string {
  const why = h.upstream?.result.platformUnverified ?? 'the platform image was not read';
  return ` The tag is a multi-platform index and whether the image for this node's platform changed could not be verified (${why}): check before acting.`;
}

function republished(group: Hit[]): Finding {
  const first = group[0]!;
  const up = first.upstream!;
  const views = group.map((h) => h.view);
  const p = up.result.platformImage;
  const platform = p?.platform ?? 'this node\'s platform';
  return {
    code: 'tag-republished',
    severity: 'info',
    message:
      `${first.tag} was re-published at ${up.endpoint} (index ${shortDigest(first.view.runningDigest)} → ${shortDigest(up.result.digest)}), ` +
      `but its ${platform} image is unchanged (${shortDigest(first.view.imageId)}): ${plural(views.length, 'container')} run${views.length === 1 ? 's' : ''} the current build. ` +
      'Another platform or an attestation manifest changed.',
    image: first.tag,
    containers: views.map(containerRef),
    evidence: {
      runningDigest: first.view.runningDigest,
      registryDigest: up.result.digest,
      endpoint: up.endpoint,
      runningImageId: first.view.imageId,
      ...platformEvidence(p),
    },
    remediation: 'Nothing to do on this node: a restart would run the same image.',
  };
}

function superseded(ctx: CheckContext, group: Hit[]): Finding {
  const first = group[0]!;
  const views = group.map((h) => h.view);
  const name = refName(first.view.requested!);
  const running = shortDigest(first.view.runningDigest ?? first.view.imageId);
  const now = shortDigest(first.nowDigest ?? first.nowImageId);
  const fixes = restartCommands(views);
  if (first.nowDigest) fixes.push(...pinCommands(ctx, views, name, first.nowDigest).map((c) => (c.startsWith('kubectl ') ? `${c}   # or pin the digest` : c)));
  const where = first.upstream ? `${first.upstream.endpoint} and this node` : 'this node';
  const platform = first.upstream?.result.platformImage;
  return {
    code: 'running-superseded',
    severity: 'warning',
    message:
      `${first.tag} points to ${now} on ${where}, but ${plural(views.length, 'container')} still ` +
      `run${views.length === 1 ? 's' : ''} ${running}` +
      (platform ? ` (${platform.platform} image ${shortDigest(first.view.imageId)} → ${shortDigest(platform.config)})` : '') +
      `: the tag moved after ${views.length === 1 ? 'it' : 'they'} started, so a restart would change the code`,
    image: first.tag,
    containers: views.map(containerRef),
    evidence: {
      runningDigest: first.view.runningDigest,
      nodeDigest: first.nowDigest,
      ...(first.upstream ? { registryDigest: first.upstream.result.digest, endpoint: first.upstream.endpoint } : {}),
      runningImageId: first.view.imageId,
      nodeImageId: first.nowImageId,
      ...platformEvidence(platform),
      ...buildMeta(ctx, 'running', first.view.imageId),
      ...buildMeta(ctx, 'node', first.nowImageId),
    },
    remediation: `${fixes.join('\n')}\n${LASTING}`,
  };
}

function stale(ctx: CheckContext, group: Hit[]): Finding {
  const first = group[0]!;
  const views = group.map((h) => h.view);
  const name = refName(first.view.requested!);
  const up = first.upstream!;
  const mirror = first.oldMirror;
  const policies = new Set(views.map((v) => v.pullPolicy ?? 'unknown'));
  const n = views.length;
  const p = up.result.platformImage;
  let message =
    `${first.tag} now points to ${shortDigest(up.result.digest)} at ${up.endpoint}${movedNote(up.result.since)}` +
    (p ? ` (${p.platform} image ${shortDigest(p.config)})` : '') +
    `, but ${plural(n, 'container')} run${n === 1 ? 's' : ''} ${shortDigest(first.view.runningDigest)}` +
    (p ? ` (image ${shortDigest(first.view.imageId)})` : '') +
    ' and this node does not hold the new image';
  if (mirror) message += `; this node resolves the tag through ${mirror.endpoint}, which still answers ${shortDigest(mirror.digest)}`;
  if (!first.verified) message += `.${unverifiedNote(first)}`;
  const fixes: string[] = [];
  if (mirror) {
    fixes.push(`First refresh ${mirror.endpoint}'s copy of ${first.tag}: a restart now would pull ${shortDigest(mirror.digest)} through it again.`);
    fixes.push(...pinCommands(ctx, views.filter(canPin), name, up.result.digest).map((c) => (c.startsWith('kubectl ') ? `${c}   # a pull by digest does not depend on the mirror's tag` : c)));
    const rest = views.filter((v) => !canPin(v));
    if (rest.length > 0) fixes.push(...restartCommands(rest).map((c) => `${c}   # only after the mirror answers the new digest`));
  } else {
    const needsAlways = [...policies].some((pol) => pol !== 'Always');
    if (needsAlways) fixes.push('A plain restart will not help: with imagePullPolicy IfNotPresent the node starts the old image it already holds under this tag.');
    fixes.push(...pinCommands(ctx, views.filter(canPin), name, up.result.digest));
    for (const cmd of restartCommands(views.filter((v) => !canPin(v)))) {
      fixes.push(needsAlways ? `${cmd}   # after setting imagePullPolicy: Always (IfNotPresent keeps the old image)` : cmd);
    }
  }
  let lasting = LASTING;
  if (mirror) lasting += ` A caching mirror must not answer tags: drop "resolve" from its capabilities (or refresh its cache), else every re-pull gets ${shortDigest(mirror.digest)} again.`;
  return {
    code: 'running-stale',
    severity: first.verified ? 'critical' : 'warning',
    message,
    image: first.tag,
    containers: views.map(containerRef),
    evidence: {
      runningDigest: first.view.runningDigest,
      registryDigest: up.result.digest,
      endpoint: up.endpoint,
      ...(mirror ? { mirrorEndpoint: mirror.endpoint, mirrorDigest: mirror.digest } : {}),
      pullPolicy: [...policies].sort().join(','),
      runningImageId: first.view.imageId,
      ...platformEvidence(p),
      ...(first.verified ? {} : { platformVerified: false, platformUnverified: up.result.platformUnverified ?? 'not read' }),
      ...buildMeta(ctx, 'running', first.view.imageId),
      ...(up.result.build ? { registryBuild: up.result.build } : {}),
      ...(up.result.since ? { registrySince: up.result.since } : {}),
    },
    remediation: `${fixes.join('\n')}\n${lasting}`,
  };
}
