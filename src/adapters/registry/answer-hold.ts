/**
 * Answers that outlive a flapping source. A registry or mirror that fails every other
 * request (an overloaded pull-through cache, a resolver restarting) must not make a true
 * finding come and go at the scan interval: the shipped alerts wait `for:` a period before
 * firing, so a flapping condition would never page anyone. When this scan could not ask
 * (5xx, connection refused or reset, timeout, 429), the last answer from the same endpoint
 * for the same tag stands, marked with when it was confirmed and why it was not asked again,
 * until a fresh answer replaces it (a new digest or a 404 counts at once) or it is older than
 * the hold bound; then the failure is reported as it is (`check-failed`, unverified).
 *
 * Lives across scans in the agent (one per process); wraps each scan's lookup.
 */
import type { RegistryLookup } from '../../domain/ports.js';
import { monotonicNow } from '../../domain/clock.js';
import { TRANSIENT_FAILURES, type TagResolved } from '../../domain/tag-truth.js';

/** Entries kept at most (one per endpoint and tag asked); the oldest go first beyond it. */
const MAX_HELD = 20_000;

export class AnswerHold {
  private readonly last = new Map<string, { value: TagResolved; at: number }>();

  constructor(
    private readonly holdMs: number,
    private readonly now: () => number = monotonicNow,
  ) {}

  get size(): number {
    return this.last.size;
  }

  /** The scan's lookup, with held answers standing in for transient failures. */
  wrap(lookup: RegistryLookup): RegistryLookup {
    this.prune();
    return {
      ...lookup,
      resolveTag: async (endpoint, registry, repository, tag) => {
        const key = `${endpoint.url}|${registry}|${repository}|${tag}`;
        const result = await lookup.resolveTag(endpoint, registry, repository, tag);
        const now = this.now();
        if (result.ok) {
          const at = this.confirmedAt(result.confirmedAt, now);
          const { held: _held, ...fresh } = result;
          this.last.delete(key);
          this.last.set(key, { value: fresh, at });
          return { ...fresh, confirmedAt: new Date(at).toISOString() };
        }
        if (!TRANSIENT_FAILURES.has(result.kind)) {
          this.last.delete(key);
          return result;
        }
        const prev = this.last.get(key);
        if (!prev || now - prev.at > this.holdMs) return result;
        return { ...prev.value, confirmedAt: new Date(prev.at).toISOString(), held: { kind: result.kind, message: result.message } };
      },
    };
  }

  /** A confirmation time as given (by this process's client, or the shared resolver), never later than now. */
  private confirmedAt(given: string | undefined, now: number): number {
    const t = given === undefined ? Number.NaN : Date.parse(given);
    return Number.isFinite(t) && t <= now ? t : now;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, v] of this.last) if (now - v.at > this.holdMs) this.last.delete(k);
    while (this.last.size > MAX_HELD) this.last.delete(this.last.keys().next().value!);
  }
}
