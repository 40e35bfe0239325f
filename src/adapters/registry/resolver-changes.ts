/**
 * The agent's side of the resolver's change feed: a long poll of `GET /v1/changes` that
 * tells the agent which tags registries announced as pushed. What the feed says is used
 * only to decide to scan sooner (the scan asks again, as always): each change is checked
 * for shape, a bounded number is read, and a resolver that fails is polled again after a
 * back-off, never in a tight loop.
 */
import type { Logger } from '../../log.js';
import { validDigest, validRepository, validTag } from '../../domain/oci-grammar.js';

export interface PushedTag {
  readonly endpoint: string;
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
}

export interface ChangeWatcherOptions {
  readonly resolverUrl: string;
  readonly token?: () => string | undefined;
  /** Called with each batch of pushes the feed reports. */
  readonly onPushes: (pushes: readonly PushedTag[]) => void;
  readonly log: Logger;
  /** Seconds the resolver holds a poll open. */
  readonly waitSeconds?: number;
}

const MAX_CHANGES_READ = 1_000;
const MAX_BODY_CHARS = 512 * 1024;

function pushedTag(v: unknown): PushedTag | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const { endpoint, repository, tag, digest } = o;
  if (typeof endpoint !== 'string' || endpoint.length > 2048 || !/^https?:\/\//.test(endpoint)) return undefined;
  if (!validRepository(repository) || !validTag(tag) || !validDigest(digest)) return undefined;
  return { endpoint, repository, tag, digest };
}

export class ResolverChangeWatcher {
  private epoch: string | undefined;
  private seq: number | undefined;
  private failures = 0;
  private stopped = true;
  private abort: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ChangeWatcherOptions) {}

  start(): void {
    this.stopped = false;
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort?.abort();
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    const wait = this.o.waitSeconds ?? 25;
    const url = new URL('/v1/changes', this.o.resolverUrl);
    if (this.epoch !== undefined && this.seq !== undefined) {
      url.searchParams.set('epoch', this.epoch);
      url.searchParams.set('after', String(this.seq));
      url.searchParams.set('wait', String(wait));
    }
    this.abort = new AbortController();
    const deadline = setTimeout(() => this.abort?.abort(), (wait + 10) * 1000);
    let delay = 0;
    try {
      const token = this.o.token?.();
      const res = await fetch(url, { headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, signal: this.abort.signal });
      const text = await res.text();
      if (res.status !== 200 || text.length > MAX_BODY_CHARS) throw new Error(`HTTP ${res.status}`);
      const doc = JSON.parse(text) as { epoch?: unknown; seq?: unknown; changes?: unknown };
      if (typeof doc.epoch !== 'string' || typeof doc.seq !== 'number' || !Number.isSafeInteger(doc.seq) || !Array.isArray(doc.changes)) throw new Error('not a change feed');
      const resumed = this.epoch === doc.epoch;
      this.epoch = doc.epoch;
      this.seq = doc.seq;
      this.failures = 0;
      // Another epoch is a restarted resolver: its feed starts over, and nothing before it is replayed.
      const pushes = resumed ? doc.changes.slice(0, MAX_CHANGES_READ).map(pushedTag).filter((p): p is PushedTag => p !== undefined) : [];
      if (pushes.length > 0) this.o.onPushes(pushes);
    } catch (e) {
      if (this.stopped) return;
      this.failures += 1;
      delay = Math.min(60_000, 2_000 * 2 ** Math.min(this.failures - 1, 5));
      if (this.failures === 1 || this.failures % 10 === 0) this.o.log.warn('resolver change feed unavailable: pushes are seen at the next scan', { error: (e as Error).message.slice(0, 200), retryInMs: delay });
    } finally {
      clearTimeout(deadline);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.poll(), delay);
  }
}
