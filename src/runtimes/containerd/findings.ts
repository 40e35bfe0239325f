/**
 * containerd's configuration findings: config-error, mirror-config-ignored, legacy-mirror-config,
 * config-not-found, mirror-resolves-tags. Config evidence only (no registry calls).
 */
import type { RegistryPlan } from '../../domain/registry-config.js';
import type { Finding } from '../../domain/report.js';
import { formatProblem, mirrorResolvesFinding, problemFinding } from '../../domain/config-findings.js';
import { describeVersion, effectiveHostsConfig } from './rules.js';
import type { RegistryConfigRead } from '../../domain/snapshot.js';

/** The config findings from what was read and the plans derived from it (also used without a snapshot). */
export function registryConfigFindings(read: RegistryConfigRead, plans: readonly RegistryPlan[]): Finding[] {
  const { version, config: snap } = read;
  const view = snap.config;
  const eff = effectiveHostsConfig(view, version);
  const out: Finding[] = [];
  const rules = `containerd ${describeVersion(version)} rules`;

  const conditional = new Set((view.versionDependent ?? []).map((p) => p.file));
  for (const p of [...view.errors, ...eff.errors]) {
    const f = problemFinding('config-error', p, `Fix the file so containerd and its CRI plugin load it (${rules}); check containerd's log for "failed to load plugin".`);
    // A file that this containerd may not load at all cannot make it fail for sure.
    out.push(conditional.has(p.file) ? { ...f, severity: 'warning', message: `${f.message} (only if this containerd loads the file: see config-version-dependent)` } : f);
  }
  for (const p of view.versionDependent ?? []) {
    out.push({
      code: 'config-version-dependent',
      severity: 'warning',
      message: formatProblem(p),
      image: undefined,
      containers: [],
      evidence: { file: p.file, reason: p.reason, rules },
      remediation: 'Use an absolute path in imports (containerd resolves those the same in every release), or run tagdrift where it can ask the runtime its version (--runtime-endpoint) or pass --runtime-version.',
    });
  }
  for (const p of view.ignored) {
    out.push(problemFinding('mirror-config-ignored', p, 'Move the settings where this containerd version reads them.'));
  }
  for (const h of snap.hostsFiles) {
    if (h.ignoredBecause) {
      out.push(
        problemFinding('mirror-config-ignored', h.ignoredBecause, `containerd logs "failed to decode hosts.toml" and pulls from the default upstream instead; fix ${h.file}.`),
      );
    }
  }
  if (eff.ignoredMultiDir && snap.hostsFiles.length > 0) {
    out.push(
      problemFinding(
        'mirror-config-ignored',
        {
          file: view.file,
          reason:
            `config_path "${eff.roots.join(':')}" names several directories; with the transfer service (the default CRI pull path since 2.1) ` +
            `containerd reads it as one directory, so ${snap.hostsFiles.length} hosts.toml director${snap.hostsFiles.length === 1 ? 'y is' : 'ies are'} ignored (containerd#12808)`,
        },
        'Set config_path to a single directory, or set use_local_image_pull = true in the CRI images plugin.',
      ),
    );
  }
  if (read.layout?.source === 'not-found') {
    out.push({
      code: 'config-not-found',
      severity: 'warning',
      message:
        `No containerd configuration under ${snap.hostRoot === '/' ? 'this node\'s root' : `--host-root ${snap.hostRoot}`} at any known location (${(read.layout.lookedFor ?? []).join(', ')}): ` +
        "the mirrors this node resolves tags through are unknown, so no mirror finding can be made and tags are checked against the registries themselves only.",
      image: undefined,
      containers: [],
      evidence: { lookedFor: read.layout.lookedFor ?? [], hostRoot: snap.hostRoot },
      remediation: "Mount your distribution's configuration directory into the agent (components: [deploy/components/<distribution>] in your overlay: k3s, rke2, microk8s, k0s, talos, cri-o), or pass --containerd-config with its path.",
    });
  }
  const limited = [...(view.notRead ?? []), ...snap.hostsFiles.flatMap((h) => (h.notRead ? [h.notRead] : []))];
  if (limited.length > 0) {
    out.push({
      code: 'check-failed',
      severity: 'warning',
      message: `${limited.length} config file${limited.length === 1 ? ' was' : 's were'} not read by tagdrift (its own limits, not containerd's): ${limited.slice(0, 3).map((p) => `${p.file}: ${p.reason}`).join('; ')}${limited.length > 3 ? '; …' : ''}. Findings about this node's registry configuration may be incomplete.`,
      image: undefined,
      containers: [],
      evidence: { reason: 'config-read-limit', files: limited.slice(0, 20).map((p) => p.file), count: limited.length },
      remediation: 'Check these files with containerd itself (containerd config dump) or reduce them; tagdrift reads at most 64 config files, 1 MiB each and 2 MiB in all, nesting up to 32.',
    });
  }
  const skipped = snap.skippedDirs ?? [];
  const badNames = skipped.filter((d) => !d.reason.startsWith('tagdrift reads at most'));
  const overCap = skipped.filter((d) => d.reason.startsWith('tagdrift reads at most'));
  for (const d of badNames.slice(0, 20)) {
    out.push(problemFinding('mirror-config-ignored', { file: d.dir, reason: d.reason }, `Rename the directory to the registry's host (host, host:port or host_port_), or remove it.`));
  }
  if (overCap.length > 0) {
    out.push({
      code: 'check-failed',
      severity: 'warning',
      message: `${overCap.length} hosts.toml director${overCap.length === 1 ? 'y was' : 'ies were'} not read: tagdrift reads at most ${snap.hostsFiles.length} per scan (its own cap; containerd has none). Registries configured there are planned as if they had no hosts.toml.`,
      image: undefined,
      containers: [],
      evidence: { reason: 'read-cap', notRead: overCap.slice(0, 20).map((d) => d.dir), count: overCap.length },
      remediation: 'Remove host directories no workload uses, or run tagdrift registries on the node to check the rest.',
    });
  }
  for (const dir of snap.unreadCertsDirs) {
    out.push(
      problemFinding(
        'mirror-config-ignored',
        { file: dir, reason: `${dir} holds registry host directories, but config_path is not set, so containerd ${describeVersion(version)} never reads them` },
        `Set config_path = "${dir}" under the CRI registry table of ${view.file}.`,
      ),
    );
  }
  const reg = view.registry;
  if (reg) {
    const legacy = [
      Object.keys(reg.mirrors).length > 0 ? `registry.mirrors (${Object.keys(reg.mirrors).join(', ')})` : '',
      reg.configsWithAuth.length > 0 ? `registry.configs.*.auth (${reg.configsWithAuth.join(', ')})` : '',
      reg.configsWithTls.length > 0 ? `registry.configs.*.tls (${reg.configsWithTls.join(', ')})` : '',
      reg.authsCount > 0 ? 'registry.auths' : '',
    ].filter(Boolean);
    if (legacy.length > 0) {
      out.push({
        code: 'legacy-mirror-config',
        severity: 'info',
        message: `${(reg.files.length > 0 ? reg.files : [view.file]).join(', ')} use${reg.files.length > 1 ? '' : 's'} deprecated ${legacy.join(', ')} in ${reg.location}`,
        image: undefined,
        containers: [],
        evidence: { file: reg.files[reg.files.length - 1] ?? view.file, files: reg.files, settings: legacy },
        remediation: 'Move mirrors and TLS settings to hosts.toml files under config_path (see containerd docs/hosts.md); mirrors cannot be combined with config_path.',
      });
    }
  }
  for (const plan of plans) if (plan.mirrorResolves) out.push(mirrorResolvesFinding(plan));
  return out;
}


/** True when the CRI registry table comes from a file this containerd may not load (config-version-dependent). */
export function registryTableUncertain(read: RegistryConfigRead): boolean {
  const dependent = new Set((read.config.config.versionDependent ?? []).map((p) => p.file));
  return (read.config.config.registry?.files ?? []).some((f) => dependent.has(f));
}
