/**
 * What a CRI runtime answers, field by field, for the fields tagdrift reads: Version, ListImages,
 * ListContainers and (non-verbose) ContainerStatus. The real-node tier records this from a real
 * containerd, builds the CRI fake's world from the same images and containers, makes it emulate
 * the same release, records it again and compares: where they differ, the fake is wrong.
 */
import * as grpc from '@grpc/grpc-js';
import { loadFullCri } from '../../testbed/cri-full.js';
import type { EmulatedRelease, FakeCri } from '../fakes/fake-cri.js';

export type RawCall = <T = any>(service: 'runtime' | 'image', method: string, req?: object) => Promise<T>;

/** A raw CRI client for any endpoint (the fake's), answering as the kubelet stand-in's raw calls do. */
export function rawCri(endpoint: string): { call: RawCall; close: () => void } {
  const cri = loadFullCri();
  const runtime = new cri.RuntimeService(endpoint, grpc.credentials.createInsecure());
  const images = new cri.ImageService(endpoint, grpc.credentials.createInsecure(), { channelOverride: runtime.getChannel() });
  const call: RawCall = (service, method, req = {}) =>
    new Promise((resolve, reject) => {
      (service === 'runtime' ? runtime : images as any)[method](req, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: any) =>
        err ? reject(new Error(`CRI ${method}: ${err.details}`)) : resolve(res));
    });
  return { call, close: () => { runtime.close(); images.close(); } };
}

const POD_LABELS = ['io.kubernetes.pod.name', 'io.kubernetes.pod.namespace', 'io.kubernetes.pod.uid', 'io.kubernetes.container.name'];

export interface CriFields {
  readonly version: { runtimeName: string; runtimeApiVersion: string; runtimeVersion: string };
  readonly images: { id: string; repoTags: string[]; repoDigests: string[] }[];
  readonly containers: Record<string, unknown>[];
  readonly statuses: Record<string, unknown>[];
}

/** Records the fields tagdrift reads, for the given containers, in a stable order. */
export async function criFields(call: RawCall, containerIds: readonly string[]): Promise<CriFields> {
  const v = await call<{ runtimeName: string; runtimeApiVersion: string; runtimeVersion: string }>('runtime', 'Version', { version: 'v1' });
  const imgs = await call<{ images: { id: string; repoTags: string[]; repoDigests: string[] }[] }>('image', 'ListImages');
  const listed = await call<{ containers: any[] }>('runtime', 'ListContainers');
  const pick = (c: any) => ({
    image: c.image?.image ?? '',
    userSpecifiedImage: c.image?.userSpecifiedImage ?? '',
    imageRef: c.imageRef ?? '',
    imageId: c.imageId ?? '',
    state: c.state,
  });
  const containers = containerIds.map((id) => {
    const c = listed.containers.find((x) => x.id === id);
    if (!c) throw new Error(`container ${id} not listed`);
    return { id, podSandboxId: c.podSandboxId, name: c.metadata?.name, ...pick(c), labels: Object.fromEntries(POD_LABELS.map((k) => [k, c.labels?.[k] ?? ''])) };
  });
  const statuses = [];
  for (const id of containerIds) {
    const s = (await call<{ status: any }>('runtime', 'ContainerStatus', { containerId: id })).status;
    statuses.push({ id, ...pick(s) });
  }
  return {
    version: { runtimeName: v.runtimeName, runtimeApiVersion: v.runtimeApiVersion, runtimeVersion: v.runtimeVersion.replace(/^v/, '').replace(/[~+-].*$/, '') },
    images: imgs.images.map((i) => ({ id: i.id, repoTags: [...i.repoTags].sort(), repoDigests: [...i.repoDigests].sort() })).sort((a, b) => a.id.localeCompare(b.id)),
    containers,
    statuses,
  };
}

/** The CRI fake given the real runtime's images and containers, emulating its release. */
export function fakeWorld(fake: FakeCri, real: CriFields, release: EmulatedRelease, userImages: Record<string, string>): FakeCri {
  fake.emulate(release);
  fake.withImages(...real.images.map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: 1 })));
  fake.withContainers(...real.containers.map((c) => {
    const labels = c['labels'] as Record<string, string>;
    return {
      id: c['id'] as string,
      podSandboxId: c['podSandboxId'] as string,
      name: c['name'] as string,
      // kubelet creates containers from the image ID: the real runtime's image_ref.
      imageId: c['imageRef'] as string,
      state: c['state'] as 'CONTAINER_RUNNING',
      pod: { name: labels['io.kubernetes.pod.name']!, namespace: labels['io.kubernetes.pod.namespace']!, uid: labels['io.kubernetes.pod.uid']! },
      ...(userImages[c['id'] as string] ? { userSpecifiedImage: userImages[c['id'] as string]! } : {}),
    };
  }));
  return fake;
}
