/** CRI-O's runtime profile: registries.conf and its drop-ins (read.ts), the pull order (plan.ts), findings. */
import type { RegistriesSection } from '../../domain/report.js';
import type { RegistryView, RuntimeProfile } from '../profile.js';
import { crioConfigFindings } from './findings.js';
import { planCrioRegistry, type CrioRegistriesRead } from './plan.js';
import { readCrioRegistries } from './read.js';

export const crioProfile: RuntimeProfile = {
  runtime: 'cri-o',
  readConfig: (files, _opts, runtime) => ({ runtime: 'cri-o', read: readCrioRegistries(files, runtime?.version ?? 'unknown') }),
};

export function crioView(read: CrioRegistriesRead): RegistryView {
  return {
    plan: (registry) => planCrioRegistry(registry, read),
    section: (named) => crioRegistriesSection(read, named),
    findings: (plans) => crioConfigFindings(read, plans),
    mirrorsUncertain: false,
  };
}

/** CRI-O: plans from registries.conf for every configured and every named registry. */
const REGISTRIES_CONF_PATH = '/etc/containers/registries.conf';

function crioRegistriesSection(read: CrioRegistriesRead, named: readonly string[]): RegistriesSection {
  const names = new Set([...read.registries.filter((r) => !r.prefix.includes('/') && !r.prefix.startsWith('*.')).map((r) => r.prefix), ...named]);
  return {
    rules: `CRI-O ${read.runtimeVersion} (registries.conf)`,
    layout: { id: 'cri-o', name: 'CRI-O', source: 'detected' },
    configFile: REGISTRIES_CONF_PATH,
    filesRead: read.files,
    configPath: { roots: [], source: 'registries.conf' },
    registries: [...names].sort().map((r) => planCrioRegistry(r, read)),
  };
}

