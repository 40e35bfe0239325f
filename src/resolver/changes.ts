/**
 * The resolver's feed of tags that moved (from push notifications), read by agents with a
 * long poll: an agent that asked about a tag re-checks it within seconds of the push, and a
 * poll that sees nothing costs no registry request. Bounded: the last MAX_CHANGES changes,
 * at most MAX_WAITERS polls held open at once (the rest are answered at once).
 */
import { randomBytes } from 'node:crypto';

export interface TagChange {
  readonly seq: number;
  readonly endpoint: string;
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  /** When the resolver received the notification (ISO). */
  readonly at: string;
}

export interface ChangesAnswer {
  /** Changes a new process of the resolver numbers from 1 again: a different epoch means "start over". */
  readonly epoch: string;
  readonly seq: number;
  readonly changes: readonly TagChange[];
  /** Set when changes after `after` were dropped from the feed (the poller should re-check everything). */
  readonly truncated?: true;
}

export const MAX_CHANGES = 1_000;
export const MAX_WAITERS = 5_000;
/** Under the server's 30 s request timeout. */
export const MAX_WAIT_MS = 25_000;

export class ChangeFeed {
  readonly epoch = randomBytes(8).toString('hex');
  private seq = 0;
  private readonly changes: TagChange[] = [];
  private readonly waiters = new Set<() => void>();

  add(c: Omit<TagChange, 'seq'>): TagChange {
    const change = { ...c, seq: ++this.seq };
    this.changes.push(change);
    if (this.changes.length > MAX_CHANGES) this.changes.shift();
    for (const w of [...this.waiters]) w();
    return change;
  }

  /** Changes after `after` in this epoch; without any, waits up to `waitMs` for one (never longer than MAX_WAIT_MS). */
  async read(epoch: string | undefined, after: number | undefined, waitMs: number, closed: Promise<void>): Promise<ChangesAnswer> {
    if (after === undefined || epoch !== this.epoch) return { epoch: this.epoch, seq: this.seq, changes: [] };
    const now = this.since(after);
    if (now.changes.length > 0 || now.truncated || waitMs <= 0 || this.waiters.size >= MAX_WAITERS) return now;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(waitMs, MAX_WAIT_MS));
      this.waiters.add(done);
      void closed.then(done);
    });
    return this.since(after);
  }

  get waiting(): number {
    return this.waiters.size;
  }

  private since(after: number): ChangesAnswer {
    const oldest = this.changes[0]?.seq ?? this.seq + 1;
    const changes = this.changes.filter((c) => c.seq > after);
    return { epoch: this.epoch, seq: this.seq, changes, ...(after < oldest - 1 ? { truncated: true as const } : {}) };
  }
}
