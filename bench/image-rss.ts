/**
 * The agent's memory as the image runs it: the project's image (scripts/build-image.ts),
 * run on a test-bed containerd through CRI under the DaemonSet that `kubectl kustomize`
 * renders from deploy/ (testbed/manifest-pod.ts: the image's NODE_OPTIONS, read-only
 * root, in-cluster Kubernetes access over the bed's TLS API), with its socket directory
 * mapped to a synthetic CRI server (N images, M containers), its /etc/containerd to a
 * config that routes the synthetic registries to a fake registry on loopback that answers
 * every tag (registry checks on), and the pods of the node in the fake API (pod intent on).
 * The only change to the rendered DaemonSet: TAGDRIFT_INTERVAL=1s, so it scans every
 * second while /v1/report, /v1/findings and /metrics are read every second.
 * RSS is read from /proc/<agent pid>/status; the fixed cost is the 0-image run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, IMAGE_CONFIG } from '../scripts/build-image.js';
import { TestBed } from '../testbed/bed.js';
import type { FakePod } from '../testbed/kube-api.js';
import { translatePod } from '../testbed/manifest-pod.js';
import { run, waitFor } from '../testbed/proc.js';
import { overlay } from '../test/helpers/kustomize.js';
import { digest, syntheticNode } from './fixtures.js';

const REGISTRY_HOSTS = ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'registry-mirror.internal.example.com:5000'];

/** A registry that knows every synthetic tag: HEAD/GET of `…/service-<i>/manifests/<tag>` → digest m-<i>. */
async function fakeRegistry(): Promise<{ server: Server; url: string; requests: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    const m = /\/v2\/.*service-(\d+)\/manifests\/([^/]+)$/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(req.url === '/v2/' ? 200 : 404).end();
      return;
    }
    const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(`id-${m[1]}`), size: 2 }, layers: [] });
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digest(`m-${m[1]}`), 'content-length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests: () => n };
}

function agentPid(): number | undefined {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (cmd[0] === 'node' && cmd.includes(IMAGE_CONFIG.entrypoint.at(-1)!) && cmd.includes('agent')) return Number(e);
    } catch {
      // gone
    }
  }
  return undefined;
}

/** Resident MiB by mapping (file name and permissions, or [anon]/[heap]), the five largest. */
function largestMappings(pid: number): string {
  const by = new Map<string, number>();
  let key = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      key = `${(head[2] || '[anon]').replace(/.*\//, '')} ${head[1]}`;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) by.set(key, (by.get(key) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
}

/** Anonymous mappings grouped by their virtual size: how many, and what they hold resident. */
function anonymousBySize(pid: number): string {
  const by = new Map<string, [number, number]>();
  let size = '';
  let anon = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      anon = !head[3] || head[3] === '[heap]';
      size = head[3] === '[heap]' ? '[heap]' : ((parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 2 ** 20).toFixed(2);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && anon && Number(rss[1]) > 0) {
      const e = by.get(size) ?? [0, 0];
      e[0] += 1;
      e[1] += Number(rss[1]) / 1024;
      by.set(size, e);
    }
  }
  return [...by].sort((a, b) => b[1][1] - a[1][1]).slice(0, 12).map(([k, [n, r]]) => `${k}: ${n}, ${r.toFixed(1)}`).join('; ');
}

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchImageRss(seconds = Number(process.env['BENCH_IMAGE_RSS_SECONDS'] ?? 120)): Promise<Record<string, number | string>> {
  const image = buildImage();
  const bed = await TestBed.start({ nodeName: 'bench-node', nodeLayout: true });
  const registry = await fakeRegistry();
  const out: Record<string, number | string> = { 'image size (MiB, compressed)': (image.compressedBytes / 2 ** 20).toFixed(1), 'seconds per size': seconds };
  try {
    const ref = `${bed.upstream.host}/tagdrift:${image.tag}`;
    await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${image.layout}:${image.tag}`, `docker://${ref}`]);
    await bed.kubelet.pull(ref);
    const rendered = overlay(`resources: [../../deploy]\nimages:\n  - name: ghcr.io/tagdrift/tagdrift\n    newName: ${bed.upstream.host}/tagdrift\n    newTag: "${image.tag}"\n`);
    const ds = rendered.find((o) => o.kind === 'DaemonSet')!;
    const env: { name: string; value: string }[] = ds['spec'].template.spec.containers[0].env;
    env.push({ name: 'TAGDRIFT_INTERVAL', value: '1s' });
    // Experiments: BENCH_IMAGE_RSS_ENV="NAME=value;NAME2=value" replaces or adds container variables.
    for (const kv of (process.env['BENCH_IMAGE_RSS_ENV'] ?? '').split(';').filter(Boolean)) {
      const [name, ...rest] = kv.split('=');
      const at = env.findIndex((e) => e.name === name);
      if (at >= 0) env.splice(at, 1);
      env.push({ name: name!, value: rest.join('=') });
      out[`env ${name}`] = rest.join('=');
    }
    // BENCH_IMAGE_RSS_NODE_FLAGS="--flag …" replaces the entrypoint's node flags (those NODE_OPTIONS refuses).
    if (process.env['BENCH_IMAGE_RSS_NODE_FLAGS'] !== undefined) {
      const [node, ...rest] = IMAGE_CONFIG.entrypoint;
      ds['spec'].template.spec.containers[0].command = [node!, ...process.env['BENCH_IMAGE_RSS_NODE_FLAGS'].split(' ').filter(Boolean), rest.at(-1)!];
      out['node flags'] = process.env['BENCH_IMAGE_RSS_NODE_FLAGS'];
    }
    const sizes = (process.env['BENCH_IMAGE_RSS_SIZES'] ?? '0:0,300:80,5000:500').split(',').map((s) => s.split(':').map(Number) as [number, number]);

    for (const [images, containers] of sizes) {
      const dir = join(bed.dir, `rss-${images}`);
      const runDir = join(dir, 'run-containerd');
      const etcDir = join(dir, 'etc-containerd');
      mkdirSync(runDir, { recursive: true });
      mkdirSync(etcDir, { recursive: true });
      writeFileSync(join(etcDir, 'config.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n');
      for (const host of REGISTRY_HOSTS) {
        mkdirSync(join(etcDir, 'certs.d', host), { recursive: true });
        writeFileSync(join(etcDir, 'certs.d', host, 'hosts.toml'), `server = "${registry.url}"\n\n[host."${registry.url}"]\n  capabilities = ["pull", "resolve"]\n`);
      }
      // The node's pods in the API (pod intent on).
      const node = syntheticNode(images, containers);
      const pods = new Map<string, FakePod>();
      for (const [i, p] of node.pods.entries()) {
        const c = node.containers[i]!;
        const pod = pods.get(`${p.namespace}/${p.name}`) ?? { metadata: { name: p.name, namespace: p.namespace, uid: p.uid, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${p.owner!.name}-5d8f7`, uid: 'u', controller: true }] }, spec: { nodeName: 'bench-node', containers: [] }, status: { phase: 'Running', containerStatuses: [] } };
        pod.spec.containers.push({ name: c.name, image: p.containers[0]!.image, imagePullPolicy: 'IfNotPresent' });
        (pod.status['containerStatuses'] as object[]).push({ name: c.name, containerID: `containerd://${c.id}` });
        pods.set(`${p.namespace}/${p.name}`, pod);
      }
      for (const p of pods.values()) bed.kube.upsertPod(p);
      const cri: ChildProcess = fork(fileURLToPath(new URL('./fake-cri-server.ts', import.meta.url)), [String(images), String(containers), join(runDir, 'containerd.sock')], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      await new Promise((r) => cri.once('message', r));
      const uid = randomUUID();
      const pod = translatePod(ds['spec'].template, ds.metadata.namespace!, {
        nodeName: 'bench-node', podName: `tagdrift-${uid.slice(0, 5)}`, uid,
        hostPath: (p) => ({ '/run/containerd': runDir, '/etc/containerd': etcDir } as Record<string, string>)[p] ?? (() => { throw new Error(p); })(),
        podDir: join(dir, 'pod'), logDirectory: join(dir, 'logs'),
        serviceAccount: { token: 'bench-token', caCert: bed.kube.caCert! },
        kubernetesService: { host: '127.0.0.1', port: bed.kube.port },
      });
      const { sandboxId } = await bed.kubelet.runTranslated(pod);
      const url = `http://127.0.0.1:${pod.containers[0]!.ports['http']}`;
      try {
        await waitFor('agent ready', async () => (await fetch(`${url}/readyz`)).status === 200, 120_000);
        const pid = agentPid()!;
        const label = `${images} images / ${containers} containers`;
        const samples: number[] = [];
        const started = Date.now();
        let reads = 0;
        while (Date.now() - started < seconds * 1000) {
          for (const path of ['/v1/report', '/v1/findings', '/metrics']) {
            await (await fetch(`${url}${path}`)).arrayBuffer();
            reads++;
          }
          samples.push(rssMiB(pid));
          await new Promise((r) => setTimeout(r, 1_000));
        }
        // BENCH_IMAGE_RSS_READERS=N: N readers at once asking /v1/report (a share with gzip) for
        // `seconds`, each asking again as soon as answered, while kubelet's probe port is asked
        // every 500 ms: the RSS peak, the probes answered, the answers by status.
        const readers = Number(process.env['BENCH_IMAGE_RSS_READERS'] ?? 0);
        if (readers > 0) {
          const { request } = await import('node:http');
          const probeUrl = `http://127.0.0.1:${pod.containers[0]!.livenessPort}${pod.containers[0]!.livenessPath}`;
          const statuses = new Map<string, number>();
          const until = Date.now() + seconds * 1000;
          let peak = 0;
          let probesOk = 0;
          let probes = 0;
          const read = (gzip: boolean) => new Promise<void>((resolve) => {
            const req = request(`${url}/v1/report`, { agent: false, headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
              res.resume();
              res.on('end', () => {
                statuses.set(String(res.statusCode), (statuses.get(String(res.statusCode)) ?? 0) + 1);
                resolve();
              });
            });
            req.on('error', () => {
              statuses.set('error', (statuses.get('error') ?? 0) + 1);
              resolve();
            });
            req.end();
          });
          // BENCH_IMAGE_RSS_READERS_GZIP: the share of readers asking with gzip (default a half).
          const gzipShare = Number(process.env['BENCH_IMAGE_RSS_READERS_GZIP'] ?? 0.5);
          const reader = async (i: number) => {
            while (Date.now() < until) await read(i < readers * gzipShare);
          };
          const sampler = (async () => {
            while (Date.now() < until) {
              peak = Math.max(peak, rssMiB(pid));
              await new Promise((r) => setTimeout(r, 250));
            }
          })();
          const prober = (async () => {
            while (Date.now() < until) {
              probes++;
              const ok = await fetch(probeUrl, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status === 200, () => false);
              if (ok) probesOk++;
              await new Promise((r) => setTimeout(r, 500));
            }
          })();
          await Promise.all([...Array.from({ length: readers }, (_, i) => reader(i)), sampler, prober]);
          const alive = agentPid() === pid;
          out[`${label}: ${readers} concurrent readers of /v1/report (${Math.round(gzipShare * 100)} % gzip) for ${seconds} s: peak RSS (MiB), probes answered, answers by status, agent alive`] =
            `${peak.toFixed(1)}, ${probesOk}/${probes}, ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(' ')}, ${alive ? 'yes' : 'NO'}`;
        }
        // Diagnosis: BENCH_IMAGE_RSS_HEAPSNAPSHOT=dir with node flags including
        // --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/dev/shm copies a heap snapshot out.
        const snapshotDir = process.env['BENCH_IMAGE_RSS_HEAPSNAPSHOT'];
        if (snapshotDir) {
          const shm = `/proc/${pid}/root/dev/shm`;
          process.kill(pid, 'SIGUSR2');
          await waitFor('heap snapshot', async () => readdirSync(shm).some((f) => f.endsWith('.heapsnapshot')) && (await new Promise((r) => setTimeout(() => r(true), 3_000))) === true, 60_000);
          const f = readdirSync(shm).find((x) => x.endsWith('.heapsnapshot'))!;
          mkdirSync(snapshotDir, { recursive: true });
          copyFileSync(join(shm, f), join(snapshotDir, `${images}.heapsnapshot`));
        }
        const smaps = Object.fromEntries(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n').map((l) => /^(\w+):\s+(\d+) kB/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => [m[1]!, Number(m[2]) / 1024]));
        const metricsText = await (await fetch(`${url}/metrics`)).text();
        const metric = (re: RegExp): string => (Number(re.exec(metricsText)?.[1] ?? NaN) / 2 ** 20).toFixed(1);
        out[`${label}: at the end, V8 heap total / used, external, large objects (MiB, the agent's /metrics)`] =
          `${metric(/^nodejs_heap_size_total_bytes (\S+)/m)} / ${metric(/^nodejs_heap_size_used_bytes (\S+)/m)}, ${metric(/^nodejs_external_memory_bytes (\S+)/m)}, ${metric(/^nodejs_heap_space_size_total_bytes\{space="large_object"\} (\S+)/m)}`;
        const report = (await (await fetch(`${url}/v1/report`)).json()) as { images: unknown[]; containers: unknown[]; sources: Record<string, { ok: boolean }>; registryTruth?: unknown[] };
        const half = samples.slice(Math.floor(samples.length / 2));
        out[`${label}: steady RSS, median of 2nd half (MiB)`] = median(half).toFixed(1);
        out[`${label}: max RSS (MiB)`] = Math.max(...samples).toFixed(1);
        out[`${label}: RSS 1st → last sample (MiB)`] = `${samples[0]!.toFixed(1)} → ${samples.at(-1)!.toFixed(1)}`;
        out[`${label}: at the end, anonymous / file-backed (MiB)`] = `${smaps['Anonymous']!.toFixed(1)} / ${(smaps['Rss']! - smaps['Anonymous']!).toFixed(1)}`;
        out[`${label}: at the end, largest mappings (MiB)`] = largestMappings(pid);
        if (process.env['BENCH_IMAGE_RSS_ANON']) out[`${label}: anonymous mappings by size (virtual MiB: count, resident MiB)`] = anonymousBySize(pid);
        out[`${label}: report`] = `${report.images.length} images, ${report.containers.length} containers, pods ${report.sources['pods']?.ok ? 'ok' : 'failed'}, ${report.registryTruth?.length ?? 0} registry answers, ${reads} API reads`;
      } finally {
        await bed.kubelet.deleteSandbox(sandboxId).catch(() => undefined);
        for (const p of pods.values()) bed.kube.deletePod(p.metadata.namespace, p.metadata.name);
        cri.kill();
      }
    }
    out['registry requests (all sizes)'] = registry.requests();
  } finally {
    registry.server.close();
    await bed.stop();
  }
  return out;
}
