/**
 * A registry that answers every manifest request and counts them per second, in its own
 * process (arrival times are not skewed by the load of the simulated agents). Args: address,
 * how many registries to start. Sends their URLs over IPC; answers {counts} when asked.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const address = process.argv[2] ?? '127.0.0.1';
const count = Number(process.argv[3] ?? 1);
const stats: { total: number; perSecond: Record<number, number> }[] = [];
const urls: string[] = [];
for (let i = 0; i < count; i++) {
  const s = { total: 0, perSecond: {} as Record<number, number> };
  stats.push(s);
  const server = createServer((req, res) => {
    s.total += 1;
    const sec = Math.floor(Date.now() / 1000);
    s.perSecond[sec] = (s.perSecond[sec] ?? 0) + 1;
    if (!/\/manifests\/[^/]+$/.test(req.url ?? '')) return void res.writeHead(req.url === '/v2/' ? 200 : 404).end();
    const digest = `sha256:${createHash('sha256').update(req.url ?? '').digest('hex')}`;
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digest, 'content-length': '2' });
    res.end(req.method === 'HEAD' ? undefined : '{}');
  });
  server.maxConnections = 20_000;
  await new Promise<void>((r) => server.listen(0, address, r));
  urls.push(`http://${address}:${(server.address() as AddressInfo).port}`);
}
process.send?.({ urls });
process.on('message', () => process.send?.({ stats }));
