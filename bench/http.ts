/**
 * /v1/findings and /metrics under load: the server pinned to CPU 0 (taskset), the
 * load generator (autocannon) on CPU 1, keep-alive connections.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import autocannon from 'autocannon';

export async function benchHttp(): Promise<Record<string, number | string>> {
  const server = fork(fileURLToPath(new URL('../dist/bench/http-server.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port, findings } = await new Promise<{ port: number; findings: number }>((resolve) => server.once('message', (m) => resolve(m as never)));
  let pinned = 'no';
  try {
    execFileSync('taskset', ['-pc', '0', String(server.pid)], { stdio: 'ignore' });
    execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
    pinned = 'server on CPU 0, load generator on CPU 1';
  } catch {
    pinned = 'taskset unavailable: not pinned';
  }
  const out: Record<string, number | string> = { pinning: pinned, 'findings in report': findings };
  try {
    const cases: [string, string, Record<string, string>][] = [
      ['/v1/findings', '/v1/findings', {}],
      ['/v1/findings (gzip)', '/v1/findings', { 'accept-encoding': 'gzip' }],
      ['/v1/findings?namespace=ns-1', '/v1/findings?namespace=ns-1', {}],
      ['/v1/findings?code=running-stale', '/v1/findings?code=running-stale', {}],
      ['/metrics', '/metrics', {}],
    ];
    for (const [label, path, headers] of cases) {
      await autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: 10, duration: 2, headers }); // warm-up
      const r = await autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: 10, pipelining: 1, duration: 10, headers });
      out[`${label} req/s (mean)`] = Math.round(r.requests.average);
      out[`${label} p99 ms`] = r.latency.p99;
      out[`${label} errors/non-2xx`] = `${r.errors}/${r.non2xx}`;
      out[`${label} bytes per answer`] = Math.round(r.throughput.average / Math.max(1, r.requests.average));
    }
  } finally {
    server.kill();
  }
  return out;
}
