/**
 * The agent loop: one scan at start, then one per interval (with jitter so a
 * DaemonSet's agents do not hit a shared registry in step), never two at once. The
 * latest report is kept and read by the HTTP API and the metrics; neither ever calls
 * the runtime or a registry itself.
 */
import { resetImageRefCache } from '../domain/image-ref.js';
import { scanNode, type CollectDeps, type CollectOptions } from '../scan/scan.js';
import type { AnalyzeOptions } from '../checks/types.js';
import type { Report } from '../domain/report.js';
import type { Logger } from '../log.js';

export interface AgentStatus {
  readonly scans: number;
  readonly failures: number;
  readonly lastScanAt: string | undefined;
  /** Last scan whose runtime sources all answered. */
  readonly lastSuccessAt: string | undefined;
  readonly lastDurationMs: number | undefined;
  readonly lastError: string | undefined;
}

export interface AgentOptions {
  readonly intervalMs: number;
  /** Fraction of the interval added or removed at random (0.1 = ±10 %). */
  readonly jitter: number;
  readonly collect: CollectOptions;
  readonly analyze: AnalyzeOptions;
  /** How often the runtime is probed (CRI Version) between scans, for readiness; 0 = never. */
  readonly probeMs?: number;
  /** Delay before the next scan after one in which the runtime did not answer. */
  readonly retryMs?: number;
  /**
   * Liveness: the agent reports itself dead when the runtime has not answered for this
   * long (a restart re-opens the socket path and re-reads the node), or when no scan has
   * finished for this long plus an interval. 0 = always live.
   */
  readonly livenessTimeoutMs?: number;
  /** Least time between the starts of two scans when scans are asked for early (scanSoon). */
  readonly minScanGapMs?: number;
}

export interface ScanListener {
  (report: Report, durationMs: number, ok: boolean): void;
}

/** The runtime sources a report cannot do without. */
export function runtimeOk(report: Report): boolean {
  return report.sources.runtime.ok && report.sources.images.ok && report.sources.containers.ok;
}

export class Agent {
  private current: Report | undefined;
  private inFlight: Promise<Report | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  /** Runtime reachability from the probe, when newer than the latest scan. */
  private probe: { ok: boolean; at: number; reason: string } | undefined;
  private scanFinishedAt = 0;
  /** performance.now() of the first failed runtime answer in the current outage. */
  private runtimeDownSince: number | undefined;
  private readonly startedAt = performance.now();
  private stopped = false;
  private loop: (() => Promise<void>) | undefined;
  /** A scan was asked for (scanSoon) while one was running: run another when it ends. */
  private again = false;
  private lastScanStart = -Infinity;
  private readonly listeners: ScanListener[] = [];
  private s: { -readonly [K in keyof AgentStatus]: AgentStatus[K] } = {
    scans: 0, failures: 0, lastScanAt: undefined, lastSuccessAt: undefined, lastDurationMs: undefined, lastError: undefined,
  };

  constructor(
    private readonly deps: () => CollectDeps,
    private readonly options: AgentOptions,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  get report(): Report | undefined {
    return this.current;
  }

  get status(): AgentStatus {
    return { ...this.s };
  }

  /** Ready: a first scan finished and the runtime answered in the latest one. */
  ready(): { ready: boolean; reason: string } {
    if (!this.current) return { ready: false, reason: 'the first scan has not finished' };
    if (this.probe && this.probe.at > this.scanFinishedAt) {
      return this.probe.ok ? { ready: true, reason: 'ok' } : { ready: false, reason: `the runtime is not reachable: ${this.probe.reason}` };
    }
    if (!runtimeOk(this.current)) {
      const e = this.current.sources.runtime.error ?? this.current.sources.images.error ?? this.current.sources.containers.error;
      return { ready: false, reason: `the runtime is not reachable: ${e?.kind ?? 'error'}: ${e?.message ?? ''}`.trim() };
    }
    return { ready: true, reason: 'ok' };
  }

  /** Alive unless the runtime has been unreachable, or scans stalled, past the liveness timeout. */
  live(now = performance.now()): { live: boolean; reason: string } {
    const limit = this.options.livenessTimeoutMs ?? 0;
    if (limit <= 0) return { live: true, reason: 'ok' };
    if (this.runtimeDownSince !== undefined && now - this.runtimeDownSince > limit) {
      return { live: false, reason: `the runtime has not answered for ${Math.round((now - this.runtimeDownSince) / 1000)} s` };
    }
    const lastProgress = Math.max(this.scanFinishedAt, this.startedAt);
    if (now - lastProgress > limit + this.options.intervalMs * (1 + this.options.jitter)) {
      return { live: false, reason: `no scan has finished for ${Math.round((now - lastProgress) / 1000)} s` };
    }
    return { live: true, reason: 'ok' };
  }

  private runtimeAnswered(ok: boolean): void {
    if (ok) this.runtimeDownSince = undefined;
    else this.runtimeDownSince ??= performance.now();
  }

  onScan(listener: ScanListener): void {
    this.listeners.push(listener);
  }

  /** Runs a scan now, or joins the one in progress. Never rejects. */
  scanOnce(): Promise<Report | undefined> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = this.runScan().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  start(): void {
    this.stopped = false;
    const loop = async (): Promise<void> => {
      this.again = false;
      const report = await this.scanOnce();
      if (this.stopped) return;
      const failed = !report || !runtimeOk(report);
      const delay = this.again ? this.soonDelay() : failed ? Math.min(this.options.retryMs ?? 5_000, this.nextDelay()) : this.nextDelay();
      this.timer = setTimeout(() => void loop(), delay);
    };
    this.loop = loop;
    void loop();
    const probeMs = this.options.probeMs ?? 5_000;
    if (probeMs > 0) {
      const probe = async (): Promise<void> => {
        await this.probeRuntime();
        if (!this.stopped) this.probeTimer = setTimeout(() => void probe(), probeMs);
      };
      this.probeTimer = setTimeout(() => void probe(), probeMs);
    }
  }

  /**
   * Asks the runtime for its version (one cheap CRI call with its deadline). When it
   * answers again after the latest scan failed, a scan runs at once.
   */
  async probeRuntime(): Promise<void> {
    const rt = this.deps().runtime;
    if (rt instanceof Error) {
      this.probe = { ok: false, at: performance.now(), reason: `${rt.kind}: ${rt.message}` };
      this.runtimeAnswered(false);
      return;
    }
    try {
      await rt.version();
      this.probe = { ok: true, at: performance.now(), reason: 'ok' };
      this.runtimeAnswered(true);
      if (this.current && !runtimeOk(this.current) && !this.inFlight && !this.stopped) void this.scanOnce();
    } catch (e) {
      const kind = (e as { kind?: string }).kind ?? 'error';
      this.probe = { ok: false, at: performance.now(), reason: `${kind}: ${(e as Error).message}` };
      this.runtimeAnswered(false);
    }
  }

  /**
   * Runs the next scan soon instead of at the interval (a tag this node checks was pushed):
   * at once, or when the scan in progress ends, never sooner than `minScanGapMs` after the
   * last one started. The interval then counts from that scan.
   */
  scanSoon(): void {
    if (this.stopped || !this.loop) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    const loop = this.loop;
    this.timer = setTimeout(() => void loop(), this.soonDelay());
  }

  private soonDelay(): number {
    return Math.max(0, (this.options.minScanGapMs ?? 2_000) - (performance.now() - this.lastScanStart));
  }

  /** Stops the loop; waits for a scan in progress at most `graceMs` (every call in it has its own deadline). */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.probeTimer);
    if (!this.inFlight) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.inFlight, new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
    clearTimeout(t);
  }

  nextDelay(): number {
    const spread = this.options.intervalMs * this.options.jitter;
    return Math.max(1_000, Math.round(this.options.intervalMs + (this.random() * 2 - 1) * spread));
  }

  private async runScan(): Promise<Report | undefined> {
    const started = performance.now();
    this.lastScanStart = started;
    this.s.scans += 1;
    this.s.lastScanAt = new Date().toISOString();
    try {
      const { report } = await scanNode(this.deps(), this.options.collect, this.options.analyze);
      const durationMs = Math.round(performance.now() - started);
      const ok = runtimeOk(report);
      this.scanFinishedAt = performance.now();
      this.runtimeAnswered(ok);
      this.current = report;
      resetImageRefCache();
      this.s.lastDurationMs = durationMs;
      if (ok) {
        this.s.lastSuccessAt = report.generatedAt;
        this.s.lastError = undefined;
      } else {
        this.s.failures += 1;
        this.s.lastError = report.sources.runtime.error?.kind ?? 'runtime';
      }
      // A scan that could not see is said at warning (the default level), with the reason.
      const failedSources = Object.entries(report.sources).filter(([, st]) => st && !st.ok).map(([name, st]) => `${name}: ${st!.error?.kind ?? 'failed'} (${(st!.error?.message ?? '').slice(0, 200)})`);
      if (!ok) this.log.warn('scan failed: the runtime could not be read', { durationMs, sources: failedSources });
      else if (failedSources.length > 0) this.log.warn('scan incomplete: a source could not be read', { durationMs, sources: failedSources, findings: report.findings.length });
      else this.log.info('scan finished', { durationMs, ok, findings: report.findings.length, ...report.summary });
      for (const l of this.listeners) l(report, durationMs, ok);
      return report;
    } catch (e) {
      this.s.failures += 1;
      this.s.lastError = (e as Error)?.name ?? 'error';
      this.log.error('scan failed', { error: (e as Error)?.message ?? String(e) });
      return undefined;
    }
  }
}
