/**
 * How this node resolves tags: the parsed, redacted registry configuration
 * (config.toml with imports, hosts.toml files) as plain data, and the
 * per-registry resolution plan derived from it. No secrets: credentials and
 * header values are reduced to where they are written (file, host, kind) and
 * header names at parse time; the registry client reads the values itself.
 */

/** A problem tied to a file; `line`/`column` are 1-based when known. Never contains file content. */
export interface ConfigProblem {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly reason: string;
}

export interface HostSettings {
  readonly capabilities: readonly string[];
  readonly skipVerify: boolean;
  readonly ca: readonly string[];
  readonly client: boolean;
  /** Client certificate files: [cert, key], or [cert] when the key is inside the cert file. */
  readonly clientPairs?: readonly (readonly [string, string?])[];
  /** Header names only; values may be tokens. */
  readonly headerNames: readonly string[];
  readonly overridePath: boolean;
  readonly dialTimeout?: string;
}

/** One `[host."…"]` entry, or the final server/default entry, of a hosts.toml. */
export interface HostEntry extends HostSettings {
  /** Scheme + host (+ port) as written, `/v2` API root resolved into `path`. */
  readonly url: string;
  readonly path: string;
  /** `host` for a [host."…"] table, `server` for the root `server`, `default` when server was absent. */
  readonly kind: 'host' | 'server' | 'default';
}

export interface HostsFile {
  /** Node path of the hosts.toml (without any --host-root prefix). */
  readonly file: string;
  /** Directory name under the config root: `docker.io`, `myreg:5000`, `myreg_5000_`, `_default`. */
  readonly dirName: string;
  readonly root: string;
  /** Parsed entries in try order; empty when the file is ignored. */
  readonly hosts: readonly HostEntry[];
  /** Set when containerd would skip the whole file. */
  readonly ignoredBecause?: ConfigProblem;
  /** Set when tagdrift did not read the file (its own size limit): planned as if absent, reported as such. */
  readonly notRead?: ConfigProblem;
  /** Legacy certificate files next to (or instead of) hosts.toml. */
  readonly certFiles: readonly string[];
}

/** The CRI registry table of config.toml, redacted. */
export interface CriRegistrySection {
  /** Raw `config_path` (OS path list), or undefined when unset/empty. */
  readonly configPath?: string;
  readonly mirrors: Readonly<Record<string, readonly string[]>>;
  /** Registry hosts with `configs.<host>.auth` (values never kept). */
  readonly configsWithAuth: readonly string[];
  /**
   * Per endpoint host (`configs."<host>".auth`, and legacy `auths."<url>"` by its host): which
   * kinds of credential the node holds and the files that set them. Never the values: the
   * registry client reads those from the files itself when it talks to that host.
   */
  readonly auth?: Readonly<Record<string, NodeCredentialSource>>;
  /** Registry hosts with `configs.<host>.tls`. */
  readonly configsWithTls: readonly string[];
  readonly authsCount: number;
  readonly headerNames: readonly string[];
  /** Where the table was found: `plugins."io.containerd.grpc.v1.cri".registry` etc. */
  readonly location: string;
  /** The file(s) that set it (the root config or drop-ins). */
  readonly files: readonly string[];
}

/** Kinds of static credential containerd reads from `registry.configs."<host>".auth`. */
export type NodeCredentialKind = 'username' | 'password' | 'auth' | 'identitytoken';

/** Where a node's credential for one host is written, and what it consists of (no values). */
export interface NodeCredentialSource {
  /** Files that set it, in load order (the last one wins where they overlap). */
  readonly files: readonly string[];
  /** The plugin table it was read from (`io.containerd.grpc.v1.cri`, `cri`, `io.containerd.cri.v1.images`). */
  readonly plugin: string;
  readonly kinds: readonly NodeCredentialKind[];
  /** `auths."<url>"` (converted by containerd into `configs[host].auth`) rather than `configs`. */
  readonly legacyAuths?: string;
}

export interface ContainerdConfigView {
  /** The root config file (node path). */
  readonly file: string;
  /** Every file loaded, root first (imports after). */
  readonly files: readonly string[];
  /** `version` of the root file (absent = 1). */
  readonly version: number;
  /** Undefined when the config sets no registry table at all. */
  readonly registry?: CriRegistrySection;
  /** Keys that force CRI's local pull mode on 2.1+ (transfer service otherwise). */
  readonly localPullTriggers: readonly string[];
  /** Problems that make containerd or its CRI plugin fail (config-error). */
  readonly errors: readonly ConfigProblem[];
  /** Config that containerd silently ignores (mirror-config-ignored). */
  readonly ignored: readonly ConfigProblem[];
  /** Files whose loading depends on a containerd release this read could not pin down. */
  readonly versionDependent?: readonly ConfigProblem[];
  /** Files tagdrift did not read or parse because of its own limits (containerd would). */
  readonly notRead?: readonly ConfigProblem[];
  /** True when no config file exists (containerd's built-in defaults apply). */
  readonly missing: boolean;
}

export interface RuntimeVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** As given (`v1.6.20~ds1`) and where it came from. */
  readonly raw: string;
  readonly source: 'runtime' | 'flag' | 'inferred';
}

/** Everything read from the node's files; the plan is derived from it purely. */
export interface RegistryConfigSnapshot {
  readonly hostRoot: string;
  readonly config: ContainerdConfigView;
  /** hosts.toml directories found under each effective config root. */
  readonly hostsFiles: readonly HostsFile[];
  /** certs.d directories that exist but are not read because config_path is unset. */
  readonly unreadCertsDirs: readonly string[];
  /** Directories under a hosts root that were not read, and why (bad names containerd never uses, the read cap). */
  readonly skippedDirs?: readonly { readonly dir: string; readonly reason: string }[];
}

export interface PlannedEndpoint {
  readonly url: string;
  readonly capabilities: readonly string[];
  /** File (and line of thought) the endpoint comes from. */
  readonly source: string;
  readonly skipVerify: boolean;
  readonly headerNames: readonly string[];
  /** CA files and client certificates (node paths) from hosts.toml. */
  readonly tls?: { readonly ca: readonly string[]; readonly clientPairs: readonly (readonly [string, string?])[] };
  /** The hosts.toml and the entry's position in it, for the registry client to read header values. */
  readonly origin?: { readonly file: string; readonly entry: number };
  /**
   * The node's own credential for this endpoint's host (config.toml `registry.configs`), as
   * containerd would use it when kubelet sends none: where it is written, never its value.
   */
  readonly nodeCredential?: NodeCredentialSource & { readonly host: string };
}

export interface RegistryPlan {
  readonly registry: string;
  /** Try order for this registry, final upstream included. */
  readonly endpoints: readonly PlannedEndpoint[];
  /** URL of the first endpoint that may resolve tags (what answers `name:tag` for this node). */
  readonly resolvesTagsVia: string;
  /** True when that endpoint is not the registry's upstream. */
  readonly mirrorResolves: boolean;
  readonly mode: 'hosts' | 'legacy-mirrors' | 'default' | 'registries-conf';
}
