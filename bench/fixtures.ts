/** Synthetic node contents for benchmarks: N images, M containers, pods for them. */
import { createHash } from 'node:crypto';
import type { FakeContainer, FakeImage } from '../test/fakes/fake-cri.js';
import type { PodRecord } from '../src/domain/snapshot.js';

export function digest(seed: string): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`;
}

export function syntheticNode(images: number, containers: number): { images: FakeImage[]; containers: FakeContainer[]; pods: PodRecord[] } {
  const imgs: FakeImage[] = [];
  for (let i = 0; i < images; i++) {
    // Names as long as real ones (ECR), each image known under a mirror name too.
    const repo = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform-team-${i % 50}/service-${i}`;
    const mirror = `registry-mirror.internal.example.com:5000/platform-team-${i % 50}/service-${i}`;
    imgs.push({
      id: digest(`id-${i}`),
      repoTags: [`${repo}:1.${i % 10}.0`, `${mirror}:1.${i % 10}.0`, ...(i % 3 === 0 ? [`${repo}:latest`] : [])],
      repoDigests: [`${repo}@${digest(`m-${i}`)}`, `${mirror}@${digest(`m-${i}`)}`],
      size: 50_000_000 + i,
    });
  }
  const ctrs: FakeContainer[] = [];
  const pods: PodRecord[] = [];
  for (let c = 0; c < containers; c++) {
    const img = imgs[c % imgs.length]!;
    const id = createHash('sha256').update(`c-${c}`).digest('hex');
    const pod = { name: `pod-${Math.floor(c / 2)}`, namespace: `ns-${c % 40}`, uid: `uid-${Math.floor(c / 2)}` };
    ctrs.push({ id, podSandboxId: `sb-${Math.floor(c / 2)}`, name: `c${c % 2}`, imageId: img.id, state: 'CONTAINER_RUNNING', pod });
    pods.push({
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      nodeName: 'bench-node',
      owner: { kind: 'Deployment', name: `dep-${Math.floor(c / 10)}` },
      containers: [{ name: `c${c % 2}`, image: img.repoTags[img.repoTags.length - 1]!, imagePullPolicy: 'IfNotPresent', kind: 'container', containerId: id, statusImageId: undefined }],
    });
  }
  return { images: imgs, containers: ctrs, pods };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
