/** `tagdrift registries`: how this node resolves tags, from config.toml and hosts.toml, without needing a runtime. */
import { outputFormat, serialize, terminalWidth, useColor, wrap } from '../render/output.js';
import { createCriClient } from '../adapters/cri/client.js';
import { createHostFiles, nodeFileExists } from '../adapters/node-files/host-files.js';
import { runtimeEndpointFor } from '../adapters/cri/endpoint.js';
import { analyzeRegistryConfig } from '../report/analyze.js';
import { profileFor } from '../runtimes/profile.js';
import { reachesSeverity } from '../domain/finding-codes.js';
import { EXIT } from './exit.js';
import type { Options } from '../config/option-table.js';
import type { RuntimeInfo } from '../domain/snapshot.js';
import { renderRegistries } from '../render/registries.js';
import { terminalSafe } from '../render/safe.js';
import { checkExplicitPaths } from './explicit-paths.js';

export async function runRegistries(options: Options, io: { stdout: NodeJS.WriteStream; isTTY: boolean }): Promise<number> {
  checkExplicitPaths(options, ['containerdConfig']);
  const files = createHostFiles(options.hostRoot);
  let runtime: RuntimeInfo | undefined;
  if (!options.runtimeVersion) {
    const client = createCriClient({ endpoint: runtimeEndpointFor(options.runtimeEndpoint, nodeFileExists(files)), timeoutMs: Math.min(options.runtimeTimeoutMs, 2000) });
    runtime = await client.version().catch(() => undefined);
    client.close();
  }
  // The runtime's profile when it answered (CRI-O's registries.conf on a CRI-O node); containerd's otherwise.
  const profile = profileFor(runtime?.name) ?? profileFor(undefined)!;
  const read = profile.readConfig(files, { hostRoot: options.hostRoot, configFile: options.containerdConfig, runtimeVersion: options.runtimeVersion }, runtime);
  // docker.io is always shown: short names resolve there.
  const { registries, findings } = analyzeRegistryConfig(read, ['docker.io']);
  const format = outputFormat(options.output, io.isTTY);
  const out = { ...registries, findings };
  io.stdout.write(
    format === 'json' || format === 'yaml'
      ? serialize(out, format)
      : wrap(renderRegistries(terminalSafe(out), { color: useColor(io.isTTY, process.env), wide: format === 'wide' }), terminalWidth(io.stdout, process.env)),
  );
  return reachesSeverity(findings, options.failOn) ? EXIT.findings : EXIT.ok;
}
