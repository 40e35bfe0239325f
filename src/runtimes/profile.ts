/**
 * The runtime seam: each container runtime whose registry configuration tagdrift reads has one
 * profile (runtimes/containerd, runtimes/crio), picked once per scan from the CRI runtime name.
 * A profile reads the node's configuration into one tagged, serialisable value the snapshot
 * carries; the view of that value answers everything the scan, the report, the checks and the CLI
 * ask of it. Nothing outside runtimes/ branches on the runtime. As containerd's RegistryHosts and
 * spegel's Store do, the callers see one interface.
 */
import type { HostFiles } from '../adapters/node-files/host-files.js';
import type { Finding, RegistriesSection } from '../domain/report.js';
import type { RegistryPlan } from '../domain/registry-config.js';
import { defaultRegistryPlan } from '../domain/registry-plan.js';
import { runtimeKind } from '../domain/runtime-kind.js';
import type { RegistryConfigRead, RuntimeInfo } from '../domain/snapshot.js';
import type { CrioRegistriesRead } from './crio/plan.js';
import { containerdProfile, containerdView } from './containerd/profile.js';
import { crioProfile, crioView } from './crio/profile.js';

/** What a runtime's configuration says, as read from the node: one tagged value. */
export type NodeRegistryConfig =
  | { readonly runtime: 'containerd'; readonly read: RegistryConfigRead }
  | { readonly runtime: 'cri-o'; readonly read: CrioRegistriesRead };

export interface ConfigReadOptions {
  readonly hostRoot: string;
  /** Node path of the configuration file (--containerd-config); else the detected layout's. */
  readonly configFile?: string | undefined;
  /** Rules to apply instead of the runtime's own version (--runtime-version). */
  readonly runtimeVersion?: string | undefined;
}

export interface RuntimeProfile {
  readonly runtime: NodeRegistryConfig['runtime'];
  /** Reads the node's registry configuration through HostFiles (the only I/O a profile does). */
  readConfig(files: HostFiles, opts: ConfigReadOptions, runtime: RuntimeInfo | undefined): NodeRegistryConfig;
}

/** Everything else asks of a read configuration; pure. */
export interface RegistryView {
  /** Who answers tags of this registry for this node, in the runtime's try order. */
  plan(registry: string): RegistryPlan;
  /** The report's registries section: every configured registry and every one in `named`. */
  section(named: readonly string[]): RegistriesSection;
  /** Findings about the configuration itself. */
  findings(plans: readonly RegistryPlan[]): Finding[];
  /** Mirrors may come from a file this runtime release may not load (mirror findings say so). */
  readonly mirrorsUncertain: boolean;
}

/**
 * The profile for a CRI runtime name; containerd's when the runtime did not answer (its files are
 * the ones every supported layout but CRI-O has). Undefined for a runtime tagdrift does not model.
 */
export function profileFor(runtimeName: string | undefined): RuntimeProfile | undefined {
  const kind = runtimeName === undefined ? 'containerd' : runtimeKind(runtimeName);
  return kind === 'containerd' ? containerdProfile : kind === 'cri-o' ? crioProfile : undefined;
}

export function registryView(config: NodeRegistryConfig): RegistryView {
  return config.runtime === 'containerd' ? containerdView(config.read) : crioView(config.read);
}

/** Without a read configuration every registry answers for itself. */
export function plannerOf(view: RegistryView | undefined): (registry: string) => RegistryPlan {
  return view ? (registry) => view.plan(registry) : defaultRegistryPlan;
}
