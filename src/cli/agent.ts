/**
 * `tagdrift agent`: the DaemonSet process. Scans on an interval, serves the HTTP API
 * and /metrics from the latest report, and shuts down cleanly on SIGTERM.
 */
import { Agent } from '../agent/agent.js';
import { type Options } from '../config/option-table.js';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics/metrics.js';
import { buildApp } from '../server/app.js';
import { createProbeServer } from '../server/probe-server.js';
import { packageVersion } from '../version.js';
import { createSources } from './sources.js';
import { parseListen } from './listen.js';
import { createApiAuthorizer } from '../server/api-auth.js';
import { EventRecorder } from '../agent/events.js';
import { SourceFailure } from '../domain/ports.js';
import { ResolverChangeWatcher, type PushedTag } from '../adapters/registry/resolver-changes.js';
import type { Report } from '../domain/report.js';
import { tokenFrom } from './sources.js';
import { endpointKey } from '../domain/registry-plan.js';

export async function runAgent(options: Options): Promise<number> {
  const log = createLogger(options.logLevel);
  const version = packageVersion();
  const listen = parseListen(options.listen);
  const probeListen = parseListen(options.probeListen, '--probe-listen');
  const metrics = new Metrics({ version }, { mirrorLagLimitSeconds: Math.round(options.mirrorMaxLagMs / 1000) });
  const sources = await createSources(options, log, { onRuntimeCall: metrics.observeRuntimeCall, onRegistryRequest: metrics.observeRegistryRequest });
  const agent = new Agent(() => sources.deps(), { intervalMs: options.intervalMs, livenessTimeoutMs: options.livenessTimeoutMs, jitter: 0.1, collect: sources.collectOptions(), analyze: { mutableTagPatterns: options.mutableTags } }, log);
  agent.onScan((report, durationMs, ok) => metrics.updateFromScan(report, durationMs, ok, sources.registry?.stats()));
  if (options.events) {
    if (sources.kubeApi instanceof SourceFailure) log.warn('--events: no Kubernetes API access, no events will be posted', { reason: sources.kubeApi.message });
    else {
      const events = new EventRecorder(sources.kubeApi, { node: options.nodeName }, log);
      // Off the scan's path: a slow or refusing API server never delays the next scan.
      agent.onScan((report) => void events.record(report));
    }
  }
  const auth = createApiAuthorizer({
    mode: options.apiAuth,
    api: sources.kubeApi instanceof SourceFailure || !options.podName ? undefined : sources.kubeApi,
    namespace: options.podNamespace,
    podName: options.podName ?? '',
  });
  if (options.apiAuth === 'kubernetes' && !options.podName) log.warn('POD_NAME is not set: /v1/* answers only on loopback (kubectl port-forward)');
  const app = await buildApp({ agent, metrics, version, auth });
  // With --expose-gc (the image's entrypoint) a memory-reducing collection follows each scan,
  // once the new report has replaced the previous one and the answers derived from it: the
  // old report and the scan's transient data go, and the pages they took are given back,
  // instead of raising the heap's high-water mark (image-rss in BENCHMARKS.md; ~15 ms at
  // 5,000 images, once per interval). `last-resort` is V8's flavour that also shrinks the heap.
  const fullGc = (globalThis as { gc?: (o?: object) => void }).gc;
  if (fullGc) agent.onScan(() => fullGc({ type: 'major', execution: 'sync', flavor: 'last-resort' }));
  const probes = createProbeServer(agent);
  await new Promise<void>((resolve, reject) => {
    probes.once('error', reject);
    probes.listen(probeListen.port, probeListen.host, () => resolve());
  });
  await app.listen({ host: listen.host, port: listen.port });
  log.warn('agent started', { version, listen: `${listen.host}:${listen.port}`, probes: `${probeListen.host}:${probeListen.port}`, node: options.nodeName, intervalMs: options.intervalMs });
  agent.start();
  // A push a registry announced to the shared resolver, for a tag this node checks and whose
  // answer differs from it: scan now rather than at the interval.
  const token = tokenFrom(options.resolverTokenFile);
  const watcher = options.resolverUrl && options.resolverWatch
    ? new ResolverChangeWatcher({
      resolverUrl: options.resolverUrl, log, ...(token ? { token } : {}),
      onPushes: (pushes) => {
        const moved = pushes.filter((p) => answeredOtherwise(agent.report, p));
        if (moved.length === 0) return;
        log.info('a tag this node checks was pushed: scanning now', { tags: moved.slice(0, 5).map((p) => `${p.endpoint} ${p.repository}:${p.tag}`) });
        agent.scanSoon();
      },
    })
    : undefined;
  watcher?.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.warn('agent stopping', { signal });
      resolve();
    };
    // SIGHUP (a terminal closing, an operator expecting a reload) must not end the agent:
    // everything it reads is read again at each scan, so there is nothing to reload.
    process.on('SIGHUP', () => log.warn('SIGHUP received: nothing to reload (files, certificates and credentials are read again at each scan); still running'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // Within the pod's grace period whatever is in flight: a scan gets 2 s to finish, the
  // server 2 s to close; requests still waiting on a registry or the runtime are abandoned
  // (the agent writes nothing) and the caller exits the process.
  watcher?.stop();
  await agent.stop(2_000);
  probes.close();
  probes.closeAllConnections();
  await Promise.race([app.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
  sources.close();
  log.warn('agent stopped');
  return 0;
}

/** True when the latest report asked `p`'s endpoint about its tag and got another digest (or no answer). */
export function answeredOtherwise(report: Report | undefined, p: PushedTag): boolean {
  const endpoint = endpointKey(p.endpoint);
  return endpoint !== undefined && (report?.registryTruth ?? []).some((a) => a.repository === p.repository && a.tag === p.tag && endpointKey(a.endpoint) === endpoint && (!a.result.ok || a.result.digest !== p.digest));
}
