/**
 * What each running container runs compared with what its tag means now. Each
 * container gets at most one running-* finding:
 *
 * - running-stale (critical): upstream answers a digest the container does not run
 *   and the node does not hold — a restart alone would not help.
 * - running-superseded (warning): the node already holds what the tag points to
 *   (upstream's answer, or without one the node's own tag) and the container runs
 *   an older image — a restart fixes it.
 *
 * A tag whose registry answer failed is never called fresh or stale from the
 * registry: only the node's own evidence (the local tag moved) is used then.
 */
import { refName, shortDigest, tagRef } from '../domain/image-ref.js';
import type { Finding } from '../domain/report.js';
import { answerNames, type TagResolved } from '../domain/registry-truth.js';
import { digestForName, type ContainerView } from '../analyze/join.js';
import type { CheckContext } from './types.js';
import { buildMeta, canPin, containerRef, groupBy, pinCommands, plural, restartCommands } from './workload.js';

interface Hit {
  view: ContainerView;
  tag: string;
  verdict: 'stale' | 'superseded';
  /** What the tag points to now: upstream's digest, else the node's tag. */
  nowDigest: string | undefined;
  nowImageId: string | undefined;
  upstream: { endpoint: string; result: TagResolved } | undefined;
  mirror: { endpoint: string; digest: string } | undefined;
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
    const mirrorAnswer = truth?.mirror?.result.ok ? { endpoint: truth.mirror.endpoint, digest: truth.mirror.result.digest } : undefined;
    if (up?.result.ok) {
      if (!view.runningDigest || answerNames(up.result, view.runningDigest)) continue;
      const held = ctx.nodeImageFor(name, up.result);
      hits.push({
        view,
        tag,
        verdict: held ? 'superseded' : 'stale',
        nowDigest: up.result.digest,
        nowImageId: held?.id,
        upstream: { endpoint: up.endpoint, result: up.result },
        mirror: mirrorAnswer,
      });
      continue;
    }
    // No registry answer: the node's own tag is the only evidence.
    const nodeImage = ctx.index.imageByTag.get(tag);
    if (!nodeImage || nodeImage.id === view.imageId) continue;
    hits.push({ view, tag, verdict: 'superseded', nowDigest: digestForName(nodeImage, name), nowImageId: nodeImage.id, upstream: undefined, mirror: mirrorAnswer });
  }
  const groups = groupBy(hits, (h) => `${h.verdict}|${h.tag}|${h.view.imageId}|${h.nowDigest ?? h.nowImageId}`);
  return [...groups.values()].map((group) => (group[0]!.verdict === 'stale' ? stale(ctx, group) : superseded(ctx, group)));
}

function superseded(ctx: CheckContext, group: Hit[]): Finding {
  const first = group[0]!;
  const views = group.map((h) => h.view);
  const name = refName(first.view.requested!);
  const running = shortDigest(first.view.runningDigest ?? first.view.imageId);
  const now = shortDigest(first.nowDigest ?? first.nowImageId);
  const fixes = restartCommands(views);
  if (first.nowDigest) fixes.push(...pinCommands(views, name, first.nowDigest).map((c) => `${c}   # or pin the digest`));
  const where = first.upstream ? `${first.upstream.endpoint} and this node` : 'this node';
  return {
    code: 'running-superseded',
    severity: 'warning',
    message:
      `${first.tag} points to ${now} on ${where}, but ${plural(views.length, 'container')} still ` +
      `run${views.length === 1 ? 's' : ''} ${running}: the tag moved after ${views.length === 1 ? 'it' : 'they'} started, so a restart would change the code`,
    image: first.tag,
    containers: views.map(containerRef),
    evidence: {
      runningDigest: first.view.runningDigest,
      nodeDigest: first.nowDigest,
      ...(first.upstream ? { registryDigest: first.upstream.result.digest, endpoint: first.upstream.endpoint } : {}),
      runningImageId: first.view.imageId,
      nodeImageId: first.nowImageId,
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
  const viaMirror = first.mirror && first.mirror.endpoint !== up.endpoint ? first.mirror : undefined;
  const mirrorOld = viaMirror && viaMirror.digest !== up.result.digest;
  const policies = new Set(views.map((v) => v.pullPolicy ?? 'unknown'));
  const n = views.length;
  let message =
    `${first.tag} now points to ${shortDigest(up.result.digest)} at ${up.endpoint}, but ${plural(n, 'container')} ` +
    `run${n === 1 ? 's' : ''} ${shortDigest(first.view.runningDigest)} and this node does not hold the new digest`;
  if (mirrorOld) message += `; this node resolves the tag through ${viaMirror.endpoint}, which answers ${shortDigest(viaMirror.digest)}`;
  const fixes = pinCommands(views.filter(canPin), name, up.result.digest);
  const rest = views.filter((v) => !canPin(v));
  const needsAlways = [...policies].some((p) => p !== 'Always');
  for (const cmd of restartCommands(rest)) {
    fixes.push(needsAlways ? `${cmd}   # after setting imagePullPolicy: Always (IfNotPresent keeps the old image)` : cmd);
  }
  let lasting = LASTING;
  if (mirrorOld) lasting += ` A caching mirror must not answer tags: drop "resolve" from its capabilities (or refresh its cache), else every re-pull gets ${shortDigest(viaMirror.digest)} again.`;
  return {
    code: 'running-stale',
    severity: 'critical',
    message,
    image: first.tag,
    containers: views.map(containerRef),
    evidence: {
      runningDigest: first.view.runningDigest,
      registryDigest: up.result.digest,
      endpoint: up.endpoint,
      ...(viaMirror ? { mirrorEndpoint: viaMirror.endpoint, mirrorDigest: viaMirror.digest } : {}),
      pullPolicy: [...policies].sort().join(','),
      runningImageId: first.view.imageId,
      ...buildMeta(ctx, 'running', first.view.imageId),
      ...(up.result.build ? { registryBuild: up.result.build } : {}),
    },
    remediation: `${fixes.join('\n')}\n${lasting}`,
  };
}
