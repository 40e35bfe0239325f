/**
 * 1,000 simulated agents answering in ~20 ms each (one HTTP server, a path per agent,
 * each with its own report: 40 containers, findings, some nodes on a re-pushed tag),
 * aggregated by the built CLI: `tagdrift cluster --endpoints …`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { analyze } from '../src/report/analyze.js';
import type { NodeSnapshot } from '../src/domain/snapshot.js';
import { digest } from './fixtures.js';

function agentReport(n: number): string {
  const images = Array.from({ length: 60 }, (_, i) => ({
    id: digest(`id-${i}-${n % 3 === 0 && i === 0 ? 'old' : 'cur'}`),
    repoTags: [`registry.example.com/team${i % 6}/svc${i}:${i % 4 === 0 ? 'latest' : '1.0'}`],
    repoDigests: [`registry.example.com/team${i % 6}/svc${i}@${digest(`m-${i}-${n % 3 === 0 && i === 0 ? 'old' : 'cur'}`)}`],
    size: 1, pinned: false,
  }));
  const containers = Array.from({ length: 40 }, (_, c) => ({
    id: `c${n}-${c}`, podSandboxId: `s${n}-${c}`, name: 'app', attempt: 0, state: 'running' as const, createdAt: undefined,
    imageSpec: images[c]!.id, userSpecifiedImage: undefined, imageRef: images[c]!.id, imageId: undefined,
    podName: `svc${c}-${n}`, podNamespace: `team${c % 6}`, podUid: `u${n}-${c}`,
  }));
  const pods = containers.map((c, i) => ({
    namespace: c.podNamespace, name: c.podName, uid: c.podUid, nodeName: `node-${n}`, owner: { kind: 'Deployment', name: `svc${i}` },
    containers: [{ name: 'app', image: images[i]!.repoTags[0]!, imagePullPolicy: 'IfNotPresent' as const, kind: 'container' as const, containerId: c.id, statusImageId: undefined }],
  }));
  const snapshot: NodeSnapshot = {
    schemaVersion: 1, node: `node-${n}`, collectedAt: new Date().toISOString(),
    runtime: { ok: true, value: { name: 'containerd', version: '1.7.20', apiVersion: 'v1' }, durationMs: 1 },
    images: { ok: true, value: images, durationMs: 1 }, containers: { ok: true, value: containers, durationMs: 1 },
    pods: { ok: true, value: pods, durationMs: 1 }, imageMeta: {},
  };
  return JSON.stringify(analyze(snapshot));
}

export async function benchCluster(agents = 1_000, delayMs = 20): Promise<Record<string, number | string>> {
  const reports = Array.from({ length: agents }, (_, n) => agentReport(n));
  const server = http.createServer((req, res) => {
    const m = /^\/agent-(\d+)\/v1\/report$/.exec(req.url ?? '');
    setTimeout(() => {
      if (!m) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(reports[Number(m[1])]);
    }, delayMs);
  });
  server.maxConnections = 10_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', 1024, r));
  const port = (server.address() as AddressInfo).port;
  const endpoints = Array.from({ length: agents }, (_, n) => `http://127.0.0.1:${port}/agent-${n}`).join(',');
  try {
    const cli = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
    const started = performance.now();
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, 'cluster', '--endpoints', endpoints, '-o', 'json'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (c) => resolve({ code: c ?? -1, stdout: out }));
    });
    const seconds = (performance.now() - started) / 1000;
    const r = JSON.parse(stdout) as { summary: { nodesOk: number; nodes: number }; groups: { findings: { code: string; nodes: string[] }[] }[] };
    const drift = r.groups.flatMap((g) => g.findings).filter((f) => f.code === 'digest-drift');
    return {
      agents,
      'agent answer delay ms': delayMs,
      'report size KiB (each)': Math.round(reports[0]!.length / 1024),
      'exit code': code,
      'nodes merged': `${r.summary.nodesOk}/${r.summary.nodes}`,
      'digest-drift findings': drift.length,
      'wall time s (CLI start to exit, concurrency 32)': seconds.toFixed(2),
    };
  } finally {
    server.close();
  }
}
