/**
 * Kubernetes Events for the pods a finding is about (opt-in, `--events`): where engineers
 * look first (`kubectl describe pod`, k9s, event exporters). One Warning event per pod and
 * finding code, with the digests and the fix in the message.
 *
 * As node-problem-detector and client-go's recorder do it: an event already posted for the
 * same pod and code is not posted again; while the condition lasts it is aggregated (its
 * `count` and `lastTimestamp` patched) at most once per repeat interval; new events are
 * rate-limited (a burst, then one per refill period). A 403 (no RBAC for events) stops
 * posting for this scan and for a back-off period, and costs nothing else: the scan, the
 * API and the metrics are never held up by events.
 */
import { createHash } from 'node:crypto';
import type { KubeApi } from '../adapters/kube/api.js';
import type { Finding, Report, ReportContainer } from '../domain/report.js';
import type { Logger } from '../log.js';
import { digestsOf, eventReason } from '../domain/evidence.js';

export interface EventOptions {
  readonly node: string;
  /** How often a lasting condition's event is patched (count, lastTimestamp). */
  readonly repeatMs?: number;
  /** New events at once, then one per `refillMs`. */
  readonly burst?: number;
  readonly refillMs?: number;
  /** After a 403, how long no event is attempted. */
  readonly forbiddenBackoffMs?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

interface Posted {
  name: string;
  namespace: string;
  count: number;
  lastSent: number;
  firstTimestamp: string;
}

export interface EventStats {
  created: number;
  patched: number;
  suppressed: number;
  failed: number;
}

const MAX_MESSAGE = 1024;

function message(f: Finding): string {
  const digests = digestsOf(f).map((d) => `${d.key} ${d.digest}`);
  const fix = f.remediation.split('\n').find((l) => l.startsWith('kubectl ')) ?? f.remediation.split('\n')[0] ?? '';
  const text = `${f.message} (${digests.join(', ')}). Fix: ${fix}`;
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

export class EventRecorder {
  private readonly posted = new Map<string, Posted>();
  private tokens: number;
  private lastRefill: number;
  private forbiddenUntil = 0;
  private busy = false;
  readonly stats: EventStats = { created: 0, patched: 0, suppressed: 0, failed: 0 };
  private readonly o: Required<Omit<EventOptions, 'node'>> & { node: string };

  constructor(private readonly api: KubeApi, options: EventOptions, private readonly log: Logger) {
    this.o = { repeatMs: 3_600_000, burst: 25, refillMs: 10_000, forbiddenBackoffMs: 3_600_000, timeoutMs: 5_000, now: Date.now, ...options };
    this.tokens = this.o.burst;
    this.lastRefill = this.o.now();
  }

  private take(): boolean {
    const now = this.o.now();
    const refill = Math.floor((now - this.lastRefill) / this.o.refillMs);
    if (refill > 0) {
      this.tokens = Math.min(this.o.burst, this.tokens + refill);
      this.lastRefill += refill * this.o.refillMs;
    }
    if (this.tokens <= 0) return false;
    this.tokens -= 1;
    return true;
  }

  /** Posts or aggregates the events a report calls for. Never rejects. */
  async record(report: Report): Promise<void> {
    // One pass at a time: a pass still talking to a slow API server is not doubled.
    if (this.busy) return;
    this.busy = true;
    try {
      await this.pass(report);
    } finally {
      this.busy = false;
    }
  }

  private async pass(report: Report): Promise<void> {
    const now = this.o.now();
    if (now < this.forbiddenUntil) return;
    const byPod = new Map<string, ReportContainer>();
    for (const c of report.containers) if (c.namespace && c.pod) byPod.set(`${c.namespace}/${c.pod}`, c);
    const wanted = new Map<string, { f: Finding; namespace: string; pod: string; uid: string | undefined }>();
    for (const f of report.findings) {
      if (!eventReason(f) || f.silenced) continue;
      for (const ref of f.containers) {
        if (!ref.namespace || !ref.pod) continue;
        const key = `${ref.namespace}/${ref.pod}|${f.code}`;
        if (!wanted.has(key)) wanted.set(key, { f, namespace: ref.namespace, pod: ref.pod, uid: byPod.get(`${ref.namespace}/${ref.pod}`)?.podUid });
      }
    }
    // Conditions that ended are forgotten, so a recurrence is a new event.
    for (const key of [...this.posted.keys()]) if (!wanted.has(key)) this.posted.delete(key);
    for (const [key, w] of wanted) {
      const prev = this.posted.get(key);
      try {
        if (prev) {
          if (now - prev.lastSent < this.o.repeatMs) {
            this.stats.suppressed += 1;
            continue;
          }
          prev.count += 1;
          prev.lastSent = now;
          await this.api.patchJson(`/api/v1/namespaces/${encodeURIComponent(prev.namespace)}/events/${encodeURIComponent(prev.name)}`, { count: prev.count, lastTimestamp: new Date(now).toISOString(), message: message(w.f) }, { timeoutMs: this.o.timeoutMs, maxBytes: 64 * 1024, what: 'patch events' });
          this.stats.patched += 1;
          continue;
        }
        if (!this.take()) {
          this.stats.suppressed += 1;
          continue;
        }
        const stamp = new Date(now).toISOString();
        const name = `${w.pod}.tagdrift-${createHash('sha256').update(`${key}|${stamp}`).digest('hex').slice(0, 10)}`;
        await this.api.postJson(`/api/v1/namespaces/${encodeURIComponent(w.namespace)}/events`, {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace: w.namespace, labels: { 'app.kubernetes.io/name': 'tagdrift' } },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: w.namespace, name: w.pod, ...(w.uid ? { uid: w.uid } : {}) },
          reason: eventReason(w.f),
          message: message(w.f),
          type: 'Warning',
          source: { component: 'tagdrift', host: this.o.node },
          reportingComponent: 'tagdrift',
          reportingInstance: this.o.node,
          firstTimestamp: stamp,
          lastTimestamp: stamp,
          count: 1,
        }, { timeoutMs: this.o.timeoutMs, maxBytes: 64 * 1024, what: 'create events' });
        this.posted.set(key, { name, namespace: w.namespace, count: 1, lastSent: now, firstTimestamp: stamp });
        this.stats.created += 1;
      } catch (e) {
        this.stats.failed += 1;
        if ((e as { kind?: string }).kind === 'forbidden') {
          this.forbiddenUntil = now + this.o.forbiddenBackoffMs;
          this.log.warn('events: not allowed to create or patch events (add deploy/components/events); not trying again for a while', { backoffMs: this.o.forbiddenBackoffMs });
          return;
        }
        this.log.info('events: could not be posted', { error: (e as Error).message });
      }
    }
  }
}
