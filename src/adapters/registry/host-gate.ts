/**
 * Who may ask a registry host now: a global and a per-host concurrency limit (so a
 * black-hole host cannot hold every slot) and per-host backoff after failures —
 * `Retry-After` when the host gave one (capped at 15 min), else doubling from 5 s up
 * to 5 min.
 */
import type { RegistryErrorKind, TagUnverified } from '../../domain/tag-truth.js';

class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active -= 1;
  }
}

const MAX_OWN_BACKOFF_SECONDS = 300;

export class HostGate {
  private readonly global: Semaphore;
  private readonly hosts = new Map<string, Semaphore>();
  private readonly backoff = new Map<string, { until: number; failures: number; kind: RegistryErrorKind }>();

  constructor(
    concurrency: number,
    private readonly perHost: number,
    private readonly maxBackoffSeconds: number,
    private readonly now: () => number,
  ) {
    this.global = new Semaphore(concurrency);
  }

  /** A failure to return instead of asking, while `host` is backing off. */
  closed(host: string): TagUnverified | undefined {
    const gate = this.backoff.get(host);
    if (!gate || gate.until <= this.now()) return undefined;
    return { ok: false, kind: gate.kind, message: `${host}: not asked: backing off after ${gate.kind} until ${new Date(gate.until).toISOString()}` };
  }

  /** Runs `fn` holding a slot for `host` and a global one (the host's slot first, so waiting never holds a global slot). */
  async run<T>(host: string, fn: () => Promise<T>): Promise<T> {
    let sem = this.hosts.get(host);
    if (!sem) {
      sem = new Semaphore(this.perHost);
      this.hosts.set(host, sem);
    }
    await sem.acquire();
    await this.global.acquire();
    try {
      return await fn();
    } finally {
      this.global.release();
      sem.release();
    }
  }

  failed(host: string, kind: RegistryErrorKind, retryAfterSeconds: number | undefined): void {
    const failures = (this.backoff.get(host)?.failures ?? 0) + 1;
    // Without Retry-After: 5 s doubling, at most 5 minutes (one default scan interval), so a
    // registry that flapped is asked again soon after it settles.
    const seconds = retryAfterSeconds ?? Math.min(5 * 2 ** (failures - 1), MAX_OWN_BACKOFF_SECONDS, this.maxBackoffSeconds);
    this.backoff.set(host, { until: this.now() + seconds * 1000, failures, kind });
  }

  succeeded(host: string): void {
    this.backoff.delete(host);
  }
}
