/**
 * running-superseded: the tag a running container was started from now points to a
 * different image on this node (the tag was re-pulled after the container started).
 * A restart would start different code. Local evidence only: image IDs from CRI.
 */
import { refName, shortDigest, tagRef } from '../domain/image-ref.js';
import type { Finding } from '../domain/report.js';
import { digestForName, type ContainerView } from '../analyze/join.js';
import type { CheckContext } from './types.js';
import { containerRef, groupBy, pinCommands, plural, restartCommands } from './workload.js';

interface Superseded {
  view: ContainerView;
  tag: string;
  nodeImageId: string;
  nodeDigest: string | undefined;
}

export function checkRunningSuperseded(ctx: CheckContext): Finding[] {
  const hits: Superseded[] = [];
  for (const view of ctx.containers) {
    if (view.record.state !== 'running' || !view.requested || view.requested.digest || !view.imageId) continue;
    const tag = tagRef(view.requested);
    const nodeImage = tag ? ctx.index.imageByTag.get(tag) : undefined;
    if (!tag || !nodeImage || nodeImage.id === view.imageId) continue;
    hits.push({ view, tag, nodeImageId: nodeImage.id, nodeDigest: digestForName(nodeImage, refName(view.requested)) });
  }
  const groups = groupBy(hits, (h) => `${h.tag}|${h.view.imageId}|${h.nodeImageId}`);
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const views = group.map((h) => h.view);
    const name = refName(first.view.requested!);
    const runningDigest = first.view.runningDigest;
    const running = shortDigest(runningDigest ?? first.view.imageId);
    const now = shortDigest(first.nodeDigest ?? first.nodeImageId);
    const fixes = restartCommands(views);
    if (first.nodeDigest) fixes.push(...pinCommands(views, name, first.nodeDigest).map((c) => `${c}   # or pin the digest`));
    return {
      code: 'running-superseded',
      severity: 'warning',
      message:
        `${first.tag} points to ${now} on this node, but ${plural(views.length, 'container')} still ` +
        `run${views.length === 1 ? 's' : ''} ${running}: the tag moved after ${views.length === 1 ? 'it' : 'they'} started, so a restart would change the code`,
      image: first.tag,
      containers: views.map(containerRef),
      evidence: {
        runningDigest,
        nodeDigest: first.nodeDigest,
        runningImageId: first.view.imageId,
        nodeImageId: first.nodeImageId,
        ...buildMeta(ctx, 'running', first.view.imageId),
        ...buildMeta(ctx, 'node', first.nodeImageId),
      },
      remediation:
        `${fixes.join('\n')}\nLasting fix: publish each build under a unique tag (or deploy by digest) so a tag never moves under running pods.`,
    } satisfies Finding;
  });
}

function buildMeta(ctx: CheckContext, prefix: string, imageId: string | undefined): Record<string, unknown> {
  const meta = imageId ? ctx.snapshot.imageMeta[imageId] : undefined;
  return meta && Object.keys(meta).length > 0 ? { [`${prefix}Build`]: meta } : {};
}
