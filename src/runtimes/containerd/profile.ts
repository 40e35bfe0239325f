/**
 * containerd's runtime profile: where its configuration is (node layouts), how each release reads
 * config.toml and hosts.toml (read.ts, config-toml.ts, hosts-toml.ts, rules.ts), the plan of who
 * answers a tag (plan.ts), the report's registries section and the configuration findings.
 */
import { nodeFileExists, type HostFiles } from '../../adapters/node-files/host-files.js';
import { detectLayout, NODE_LAYOUTS } from '../../domain/node-layouts.js';
import type { RegistriesSection } from '../../domain/report.js';
import type { RegistryPlan } from '../../domain/registry-config.js';
import type { RegistryConfigRead, RuntimeInfo } from '../../domain/snapshot.js';
import type { ConfigReadOptions, RegistryView, RuntimeProfile } from '../profile.js';
import { readConfigVersion } from './config-toml.js';
import { registryConfigFindings, registryTableUncertain } from './findings.js';
import { configuredRegistries, planRegistry } from './plan.js';
import { readRegistryConfig } from './read.js';
import { describeVersion, effectiveHostsConfig, inferRuntimeVersion, parseRuntimeVersion } from './rules.js';

export const containerdProfile: RuntimeProfile = {
  runtime: 'containerd',
  readConfig: (files, opts, runtime) => ({ runtime: 'containerd', read: readContainerdConfig(files, opts, runtime) }),
};

export function containerdView(read: RegistryConfigRead): RegistryView {
  return {
    plan: (registry) => planRegistry(registry, read.config, read.version),
    section: (named) => registriesSection(read, named),
    findings: (plans) => registryConfigFindings(read, plans),
    mirrorsUncertain: registryTableUncertain(read),
  };
}

/**
 * Reads config.toml + hosts.toml under the rules of: --runtime-version when given, else
 * the runtime's reported version, else a version inferred from the config's own version.
 */
export function readContainerdConfig(
  files: HostFiles,
  opts: ConfigReadOptions,
  runtime: RuntimeInfo | undefined,
): RegistryConfigRead {
  // Whether a known configuration file exists, from its directory's listing: the file itself is
  // read once, by the config reader.
  const exists = nodeFileExists(files);
  const detected = opts.configFile ? undefined : detectLayout(exists);
  const fallback = NODE_LAYOUTS.find((l) => l.id === 'containerd')!;
  const configFile = opts.configFile ?? (detected ?? fallback).configFile;
  const layout: RegistryConfigRead['layout'] = opts.configFile
    ? { id: NODE_LAYOUTS.find((l) => l.configFile === opts.configFile)?.id ?? 'custom', name: NODE_LAYOUTS.find((l) => l.configFile === opts.configFile)?.name ?? 'given by --containerd-config', source: 'flag' }
    : detected
      ? { id: detected.id, name: detected.name, source: 'detected' }
      : { id: fallback.id, name: fallback.name, source: 'not-found', lookedFor: NODE_LAYOUTS.map((l) => l.configFile) };
  let version =
    (opts.runtimeVersion ? parseRuntimeVersion(opts.runtimeVersion, 'flag') : undefined) ??
    (runtime ? parseRuntimeVersion(runtime.version, 'runtime') : undefined);
  if (!version) version = inferRuntimeVersion(readConfigVersion(files, configFile));
  return { version, config: readRegistryConfig(files, { hostRoot: opts.hostRoot, configFile, version }), layout };
}

/** Plans for every configured registry and every registry in `named`. */
function registriesSection(read: RegistryConfigRead, named: readonly string[]): RegistriesSection {
  const { version, config } = read;
  const names = new Set([...configuredRegistries(config), ...named]);
  const plans: RegistryPlan[] = [...names].sort().map((r) => planRegistry(r, config, version));
  const eff = effectiveHostsConfig(config.config, version);
  return {
    rules: `containerd ${describeVersion(version)} (${version.source})`,
    ...(read.layout ? { layout: { id: read.layout.id, name: read.layout.name, source: read.layout.source } } : {}),
    configFile: config.config.file,
    filesRead: [...config.config.files, ...config.hostsFiles.map((h) => h.file)],
    configPath: { roots: eff.roots, source: eff.source },
    registries: plans,
  };
}

