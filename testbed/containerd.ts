/**
 * A throwaway containerd with its CRI plugin, everything under one temp dir
 * (settings verified on these machines: see the README's test bed section).
 * Stopped by PID: containerd, then the shims whose command line names this
 * socket and their children, then the mounts under the dir.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { RELEASES, type ContainerdRelease } from './releases.js';
import { isAlive, killPids, listProcesses, run, spawnLogged, waitFor, withDescendants } from './proc.js';

export interface RegistryRoute {
  /** Registry host as it appears in image references: `127.0.0.1:5000`, `docker.io`. */
  readonly host: string;
  /** Where containerd should send requests for it (the registry itself, or a mirror with `resolve`). */
  readonly serverUrl: string;
  /** Mirrors tried before the server, in order. */
  readonly mirrors?: readonly { url: string; capabilities: readonly string[] }[];
}

export interface ContainerdOptions {
  readonly dir: string;
  readonly sandboxImage: string;
  readonly routes: readonly RegistryRoute[];
  /**
   * Put the CRI plugin table (with its registry config_path) in a drop-in
   * `conf.d/cri.toml` imported by the root config through a relative or an absolute
   * glob. containerd is then started with working directory `/`, as under systemd.
   * The root keeps a copy of the CRI table without config_path, so containerd works
   * whether or not it loads the drop-in (1.x replaces a plugin table wholesale).
   */
  readonly criDropIn?: 'relative-glob' | 'absolute-glob';
  /**
   * Lay the node out at the paths a real node uses: containerd runs in a private mount
   * namespace where the bed's `etc-containerd/` is bind-mounted at /etc/containerd and its
   * `run-containerd/` at /run/containerd, so its config says `/etc/containerd/certs.d` and
   * `/run/containerd/containerd.sock`, and the containers it starts (an agent pod with
   * hostPath volumes among them) see those paths as on a node. The host sees the same
   * files under the bed's dir; nothing outside it is written (the two mount points are
   * created if absent, empty).
   */
  readonly nodePaths?: boolean | 'k3s';
  /** Which real containerd runs (default: the system's 1.6.20). */
  readonly release?: ContainerdRelease;
}

export function hostsToml(route: RegistryRoute): string {
  const lines = [`server = "${route.serverUrl}"`, ''];
  for (const m of route.mirrors ?? []) {
    lines.push(`[host."${m.url}"]`, `  capabilities = [${m.capabilities.map((c) => `"${c}"`).join(', ')}]`, '');
  }
  // containerd 1.6 ignores a hosts.toml without any [host] table (containerd#10027), so the
  // server is always listed as a host too.
  lines.push(`[host."${route.serverUrl}"]`, '  capabilities = ["pull", "resolve", "push"]', '');
  return lines.join('\n');
}

/**
 * The node's config.toml, as that release is really configured: version 2 with the one CRI plugin
 * for 1.x, version 3 with the split `io.containerd.cri.v1.runtime` / `io.containerd.cri.v1.images`
 * plugins for 2.x (2.x has no `disable_cgroup`). Returns the file and the table holding
 * `config_path` (a drop-in may carry it instead).
 */
/** Where a node keeps containerd's configuration and socket directories, per layout (nodePaths). */
export const NODE_DIRS = {
  containerd: { etc: '/etc/containerd', run: '/run/containerd' },
  k3s: { etc: '/var/lib/rancher/k3s/agent/etc/containerd', run: '/run/k3s/containerd' },
} as const;

export function containerdConfig(dir: string, sandboxImage: string, nodePaths: boolean | 'k3s' = false, configVersion: 2 | 3 = 2): { text: string; registryTable: string; criStart: string } {
  const node = nodePaths ? NODE_DIRS[nodePaths === 'k3s' ? 'k3s' : 'containerd'] : undefined;
  const sock = node ? `${node.run}/containerd.sock` : `${dir}/containerd.sock`;
  const certs = node ? `${node.etc}/certs.d` : `${dir}/certs.d`;
  const head = `version = ${configVersion}
root = "${dir}/root"
state = "${dir}/state"

[grpc]
  address = "${sock}"

[ttrpc]
  address = "${sock}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"

`;
  if (configVersion === 3) {
    const rt = 'plugins."io.containerd.cri.v1.runtime"';
    const im = 'plugins."io.containerd.cri.v1.images"';
    const criStart = `[${rt}]`;
    const registryTable = `[${im}.registry]`;
    return {
      criStart,
      registryTable,
      text: `${head}${criStart}
  disable_apparmor = true
  restrict_oom_score_adj = true

[${rt}.cni]
  bin_dirs = ["${dir}/cni/bin"]
  conf_dir = "${dir}/cni/conf"

[${rt}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${rt}.containerd.runtimes.runc.options]
  Root = "${dir}/runc"

[${im}]
  snapshotter = "native"

# 2.1 pulls through the transfer service, whose unpack targets overlayfs unless told otherwise.
[[plugins."io.containerd.transfer.v1.local".unpack_config]]
  platform = "linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}"
  snapshotter = "native"

[${im}.pinned_images]
  sandbox = "${sandboxImage}"

${registryTable}
  config_path = "${certs}"
`,
    };
  }
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const criStart = `[${cri}]`;
  const registryTable = `[${cri}.registry]`;
  return {
    criStart,
    registryTable,
    text: `${head}${criStart}
  disable_cgroup = true
  disable_apparmor = true
  restrict_oom_score_adj = true
  sandbox_image = "${sandboxImage}"

[${cri}.cni]
  bin_dir = "${dir}/cni/bin"
  conf_dir = "${dir}/cni/conf"

[${cri}.containerd]
  snapshotter = "native"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  Root = "${dir}/runc"

${registryTable}
  config_path = "${certs}"
`,
  };
}

export class ContainerdNode {
  private child: ChildProcess | undefined;
  /** Host-side paths (with nodePaths: where /etc/containerd and /run/containerd are bound from). */
  readonly socket: string;
  readonly configPath: string;
  readonly certsDir: string;
  readonly etcDir: string;
  readonly runDir: string;
  /** Mount namespaces of every containerd started (nodePaths), to find their shims at stop. */
  private readonly mountNamespaces = new Set<string>();
  readonly release: ContainerdRelease;

  constructor(private readonly opts: ContainerdOptions) {
    this.release = opts.release ?? RELEASES['1.6'];
    this.etcDir = opts.nodePaths ? join(opts.dir, 'etc-containerd') : opts.dir;
    this.runDir = opts.nodePaths ? join(opts.dir, 'run-containerd') : opts.dir;
    this.socket = join(this.runDir, 'containerd.sock');
    this.configPath = join(this.etcDir, 'config.toml');
    this.certsDir = join(this.etcDir, 'certs.d');
  }

  get endpoint(): string {
    return `unix://${this.socket}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Writes config and hosts.toml files and starts containerd; resolves once the socket answers. */
  async start(): Promise<void> {
    const { dir } = this.opts;
    for (const sub of ['root', 'state', 'opt', 'runc', 'cni/bin', 'cni/conf', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
    mkdirSync(this.etcDir, { recursive: true });
    mkdirSync(this.runDir, { recursive: true });
    const { text: config, registryTable, criStart } = containerdConfig(dir, this.opts.sandboxImage, this.opts.nodePaths, this.release.configVersion);
    if (this.opts.criDropIn) {
      const at = config.indexOf(criStart);
      const cri = config.slice(at);
      const withoutRegistry = cri.slice(0, cri.indexOf(registryTable));
      const glob = this.opts.criDropIn === 'relative-glob' ? 'conf.d/*.toml' : join(dir, 'conf.d', '*.toml');
      mkdirSync(join(dir, 'conf.d'), { recursive: true });
      writeFileSync(this.configPath, `imports = ["${glob}"]\n${config.slice(0, at)}${withoutRegistry}`);
      // 1.x replaces the plugin table wholesale, so its drop-in repeats the CRI table; 2.x deep-merges.
      writeFileSync(join(dir, 'conf.d', 'cri.toml'), `version = ${this.release.configVersion}\n\n${this.release.configVersion === 3 ? config.slice(config.indexOf(registryTable)) : cri}`);
    } else {
      writeFileSync(this.configPath, config);
    }
    this.writeRoutes(this.opts.routes);
    await this.launch();
  }

  writeRoutes(routes: readonly RegistryRoute[]): void {
    for (const route of routes) {
      mkdirSync(join(this.certsDir, route.host), { recursive: true });
      writeFileSync(join(this.certsDir, route.host, 'hosts.toml'), hostsToml(route));
    }
  }

  private async launch(): Promise<void> {
    const log = join(this.opts.dir, 'containerd.log');
    // containerd finds containerd-shim-runc-v2 on PATH: its own release's shim first.
    const env = { ...process.env, PATH: `${this.release.binDir}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
    if (this.opts.nodePaths) {
      const node = NODE_DIRS[this.opts.nodePaths === 'k3s' ? 'k3s' : 'containerd'];
      for (const p of [node.etc, node.run]) mkdirSync(p, { recursive: true });
      const script = 'mount --bind "$0" "$2" && mount --bind "$1" "$3" && exec containerd --config "$2/config.toml"';
      this.child = spawnLogged('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, this.etcDir, this.runDir, node.etc, node.run], log, '/', env);
    } else {
      this.child = spawnLogged(join(this.release.binDir, 'containerd'), ['--config', this.configPath], log, this.opts.criDropIn ? '/' : undefined, env);
    }
    const pid = this.child.pid!;
    // The socket file of a killed containerd stays behind: wait until the new one accepts.
    await waitFor(
      `containerd socket ${this.socket}`,
      async () => {
        if (!isAlive(pid)) throw new Error('containerd exited; see containerd.log');
        return existsSync(this.socket) && (await accepts(this.socket));
      },
      20_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n--- containerd.log ---\n${this.logTail()}`);
    });
    if (this.opts.nodePaths) this.mountNamespaces.add(readlinkSync(`/proc/${pid}/ns/mnt`));
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(join(this.opts.dir, 'containerd.log'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * Runs a command as a process on this node sees the machine (nodePaths): inside containerd's mount
   * namespace, where the node's configuration and socket directories are at their node paths.
   */
  nodeCommand(cmd: string, args: readonly string[]): { cmd: string; args: string[] } {
    const pid = this.child?.pid;
    if (!this.opts.nodePaths || !pid) throw new Error('nodeCommand: only for a running node laid out at node paths');
    return { cmd: 'nsenter', args: [`--mount=/proc/${pid}/ns/mnt`, '--', cmd, ...args] };
  }

  /** Kills containerd only (shims and containers keep running), as a crash would. */
  async kill(): Promise<void> {
    const pid = this.child?.pid;
    if (pid) await killPids([pid], 'SIGKILL');
    this.child = undefined;
  }

  /** Starts containerd again with the same config (it reconnects to the running shims). */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Ends containerd, its shims and containers (by PID), unmounts what is under the dir. */
  async stop(): Promise<void> {
    await this.kill();
    const ours = (p: { pid: number; cmdline: string }): boolean => {
      if (!p.cmdline.includes('containerd-shim')) return false;
      if (!this.opts.nodePaths) return p.cmdline.includes(this.socket);
      try {
        return this.mountNamespaces.has(readlinkSync(`/proc/${p.pid}/ns/mnt`));
      } catch {
        return false;
      }
    };
    const shims = listProcesses().filter(ours).map((p) => p.pid);
    if (shims.length > 0) await killPids(withDescendants(shims), 'SIGKILL');
    await unmountUnder(this.opts.dir);
  }
}

function accepts(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
}
