/**
 * Joins what the runtime runs (CRI) with what each pod asked for (Kubernetes API).
 *
 * kubelet creates containers from the image *ID* (`sha256:<config>`), so CRI alone
 * does not say which tag a pod meant; the pod spec does. The join key is the
 * runtime container ID from the pod status; the io.kubernetes.* labels are the
 * fallback for containers the pod status does not list yet.
 */
import { type ImageRef, isImageId, parseRepoDigest, refName, tryParseImageRef } from './image-ref.js';
import type {
  ContainerRecord,
  ImageRecord,
  NodeSnapshot,
  PodContainerIntent,
  PodOwner,
  PodRecord,
  PullPolicy,
} from './snapshot.js';

export interface ContainerView {
  readonly record: ContainerRecord;
  readonly pod: PodRecord | undefined;
  readonly intent: PodContainerIntent | undefined;
  /** What the pod asked for, normalised. */
  readonly requested: ImageRef | undefined;
  readonly requestedSource: 'pod-spec' | 'cri' | 'unknown';
  readonly pullPolicy: PullPolicy | undefined;
  readonly owner: PodOwner | undefined;
  /** The node-local image the container runs. */
  readonly imageId: string | undefined;
  readonly runningImage: ImageRecord | undefined;
  /** Repo digest of the running image for the requested repository. */
  readonly runningDigest: string | undefined;
}

export interface NodeIndex {
  readonly imagesById: ReadonlyMap<string, ImageRecord>;
  /** Normalised `name:tag` → the image that tag points to on this node now. */
  readonly imageByTag: ReadonlyMap<string, ImageRecord>;
}

export function indexImages(images: readonly ImageRecord[]): NodeIndex {
  const imagesById = new Map<string, ImageRecord>();
  const imageByTag = new Map<string, ImageRecord>();
  for (const image of images) {
    imagesById.set(image.id, image);
    for (const tag of image.repoTags) {
      const ref = tryParseImageRef(tag);
      if (ref?.tag !== undefined) imageByTag.set(`${refName(ref)}:${ref.tag}`, image);
    }
  }
  return { imagesById, imageByTag };
}

/** The digest under which `image` is known for repository `name`, else any digest it has. */
export function digestForName(image: ImageRecord | undefined, name: string | undefined): string | undefined {
  if (!image) return undefined;
  let fallback: string | undefined;
  for (const rd of image.repoDigests) {
    const parsed = parseRepoDigest(rd);
    if (!parsed) continue;
    if (parsed.name === name) return parsed.digest;
    fallback ??= parsed.digest;
  }
  return fallback;
}

function containerImageId(c: ContainerRecord): string | undefined {
  for (const candidate of [c.imageId, c.imageRef, c.imageSpec]) {
    if (candidate && isImageId(candidate)) return candidate;
  }
  return undefined;
}

/** Without the API: the user string (kubelet ≥ 1.28 on runtimes that keep it), else a tag in image.image. */
function requestedFromCri(c: ContainerRecord): ImageRef | undefined {
  for (const candidate of [c.userSpecifiedImage, c.imageSpec]) {
    if (candidate && !isImageId(candidate)) {
      const ref = tryParseImageRef(candidate);
      if (ref) return ref;
    }
  }
  return undefined;
}

interface PodIndex {
  byContainerId: Map<string, { pod: PodRecord; intent: PodContainerIntent }>;
  byPod: Map<string, PodRecord>;
}

function indexPods(pods: readonly PodRecord[]): PodIndex {
  const byContainerId = new Map<string, { pod: PodRecord; intent: PodContainerIntent }>();
  const byPod = new Map<string, PodRecord>();
  for (const pod of pods) {
    byPod.set(`${pod.namespace}/${pod.name}`, pod);
    if (pod.uid) byPod.set(`uid:${pod.uid}`, pod);
    for (const intent of pod.containers) {
      if (intent.containerId) byContainerId.set(intent.containerId, { pod, intent });
    }
  }
  return { byContainerId, byPod };
}

function findIntent(c: ContainerRecord, idx: PodIndex): { pod?: PodRecord; intent?: PodContainerIntent } {
  const direct = idx.byContainerId.get(c.id);
  if (direct) return direct;
  const pod =
    (c.podUid ? idx.byPod.get(`uid:${c.podUid}`) : undefined) ??
    (c.podNamespace && c.podName ? idx.byPod.get(`${c.podNamespace}/${c.podName}`) : undefined);
  if (!pod) return {};
  // Regular and init containers share one name space within a pod.
  const intent = pod.containers.find((i) => i.name === c.name);
  return intent ? { pod, intent } : { pod };
}

export function joinContainers(snapshot: NodeSnapshot, index: NodeIndex): ContainerView[] {
  if (!snapshot.containers.ok) return [];
  const pods = snapshot.pods.ok ? snapshot.pods.value : [];
  const podIndex = indexPods(pods);
  return snapshot.containers.value.map((record) => {
    const { pod, intent } = findIntent(record, podIndex);
    let requested: ImageRef | undefined;
    let requestedSource: ContainerView['requestedSource'] = 'unknown';
    const fromSpec = intent ? tryParseImageRef(intent.image) : undefined;
    if (fromSpec) {
      requested = fromSpec;
      requestedSource = 'pod-spec';
    } else {
      requested = requestedFromCri(record);
      if (requested) requestedSource = 'cri';
    }
    const imageId = containerImageId(record);
    const runningImage = imageId ? index.imagesById.get(imageId) : undefined;
    const name = requested ? refName(requested) : undefined;
    let runningDigest = digestForName(runningImage, name);
    // A reference pinned by digest names the running content itself.
    if (!runningDigest && requested?.digest) runningDigest = requested.digest;
    if (!runningDigest && record.imageRef.includes('@')) runningDigest = parseRepoDigest(record.imageRef)?.digest;
    return {
      record,
      pod,
      intent,
      requested,
      requestedSource,
      pullPolicy: intent?.imagePullPolicy,
      owner: pod?.owner,
      imageId,
      runningImage,
      runningDigest,
    };
  });
}
