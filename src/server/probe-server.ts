/**
 * Health probes on a listener of their own, so they never compete with readers: a flood of
 * idle or slow connections to the API port, or requests waiting on token reviews, leaves
 * kubelet's probes answered. It serves `/healthz` and `/readyz` only, keeps no connection
 * alive, and gives a client 2 s to send its request. The NetworkPolicy does not admit this
 * port from pods; kubelet probes from the node, whose traffic to its own pods most network
 * plugins let through whatever the policy says (some need the node's address allowed).
 */
import http from 'node:http';
import type { AgentView } from './app.js';

export const PROBE_MAX_CONNECTIONS = 32;

export function createProbeServer(agent: Pick<AgentView, 'live' | 'ready'>): http.Server {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: object): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff', connection: 'close' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'GET only' });
    if (req.url === '/healthz') {
      const l = agent.live();
      return l.live ? send(200, { status: 'ok' }) : send(503, { status: 'unhealthy', reason: l.reason });
    }
    if (req.url === '/readyz') {
      const r = agent.ready();
      return r.ready ? send(200, { status: 'ready' }) : send(503, { status: 'not ready', reason: r.reason });
    }
    return send(404, { error: 'this port serves /healthz and /readyz only' });
  });
  server.maxConnections = PROBE_MAX_CONNECTIONS;
  server.headersTimeout = 2_000;
  server.requestTimeout = 2_000;
  server.keepAliveTimeout = 0;
  return server;
}
