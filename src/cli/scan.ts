/** `tagdrift scan`: one scan of this node, printed as a table or the JSON report. */
import { createCriClient } from '../adapters/cri/client.js';
import { createKubePodSource } from '../adapters/kube/pods.js';
import { scanNode } from '../collect/collect.js';
import { SourceFailure, type RuntimeClient } from '../collect/ports.js';
import { reachesSeverity } from '../domain/finding-codes.js';
import type { Report } from '../domain/report.js';
import type { Options } from '../config/options.js';
import { createLogger } from '../log.js';
import { renderTable } from '../render/table.js';
import { createHostFiles } from '../adapters/containerd/host-files.js';
import { RegistryClient } from '../adapters/registry/client.js';
import { createRegistryLookup } from '../adapters/registry/lookup.js';
import { loadCredentials } from '../adapters/registry/credentials.js';
import { OptionsError } from '../config/options.js';

/** Exit codes: documented in the README. */
export const EXIT = { ok: 0, findings: 1, usage: 2, scanFailed: 3 } as const;

export async function runScan(options: Options, io: { stdout: NodeJS.WriteStream; isTTY: boolean }): Promise<number> {
  const log = createLogger(options.logLevel);
  let runtime: RuntimeClient | SourceFailure;
  try {
    runtime = createCriClient({
      endpoint: options.runtimeEndpoint,
      timeoutMs: options.runtimeTimeoutMs,
      onCall: (method, code, seconds) => log.debug('cri call', { method, code, seconds }),
    });
  } catch (e) {
    runtime = new SourceFailure('error', (e as Error).message);
  }
  const credentials = options.registryAuthFile ? loadCredentials(options.registryAuthFile) : new Map();
  if (credentials instanceof Error) throw new OptionsError([credentials.message]);
  const registry =
    options.registryChecks === 'on'
      ? new RegistryClient({
          timeoutMs: options.registryTimeoutMs,
          cacheTtlMs: options.registryCacheTtlMs,
          credentials,
          onRequest: (host, method, code) => log.debug('registry request', { host, method, code }),
        })
      : undefined;
  const hostFiles = createHostFiles(options.hostRoot);
  const pods = await createKubePodSource({ kubeconfig: options.kubeconfig, timeoutMs: options.kubeTimeoutMs });
  if (pods instanceof SourceFailure) log.info('pod intent unavailable', { reason: pods.kind, detail: pods.message });
  try {
    const { report } = await scanNode(
      { runtime, pods, now: () => new Date(), hostFiles, ...(registry ? { registry: createRegistryLookup(registry, hostFiles) } : {}) },
      {
        nodeName: options.nodeName,
        hostRoot: options.hostRoot,
        containerdConfig: options.containerdConfig,
        ...(options.runtimeVersion ? { runtimeVersion: options.runtimeVersion } : {}),
      },
      { mutableTagPatterns: options.mutableTags },
    );
    const asTable = options.output === 'table' || (options.output === 'auto' && io.isTTY);
    io.stdout.write(asTable ? renderTable(report, io.isTTY) : `${JSON.stringify(report, null, 2)}\n`);
    return exitCode(report, options.failOn);
  } finally {
    if (!(runtime instanceof SourceFailure)) runtime.close();
    registry?.close();
  }
}

export function exitCode(report: Report, failOn: Options['failOn']): number {
  if (!report.sources.runtime.ok || !report.sources.images.ok || !report.sources.containers.ok) return EXIT.scanFailed;
  return reachesSeverity(report.findings, failOn) ? EXIT.findings : EXIT.ok;
}
