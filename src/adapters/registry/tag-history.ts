/**
 * When each digest of a tag was first seen at one endpoint: from the endpoint's own answers,
 * or from its push notifications (the shared resolver). Bounded: a few digests per tag, a
 * cap on tags, the oldest tag dropped first. Times are the client's clock, never the sender's.
 */
import type { TagSince } from '../../domain/tag-truth.js';

export const HISTORY_PER_TAG = 8;
export const MAX_HISTORY_TAGS = 20_000;

interface Entry {
  readonly digest: string;
  readonly at: number;
  readonly via: TagSince['via'];
  /** True when another digest was seen before this one: `at` is when the move was seen. */
  readonly moved: boolean;
}

export class TagHistory {
  private readonly tags = new Map<string, Entry[]>();

  /** Records that `key` (endpoint|repository|tag) points to `digest` as of `at`; returns what is known of it since when. */
  observe(key: string, digest: string, at: number, via: TagSince['via']): TagSince {
    const list = this.tags.get(key) ?? [];
    const last = list[list.length - 1];
    if (last && last.digest === digest) return since(last);
    const entry: Entry = { digest, at, via, moved: list.length > 0 };
    const next = [...list, entry].slice(-HISTORY_PER_TAG);
    this.tags.delete(key);
    if (this.tags.size >= MAX_HISTORY_TAGS) this.tags.delete(this.tags.keys().next().value!);
    this.tags.set(key, next);
    return since(entry);
  }

  /** The digests `key` was seen to point to, oldest first. */
  history(key: string): readonly TagSince[] {
    return (this.tags.get(key) ?? []).map(since);
  }
}

function since(e: Entry): TagSince {
  return { digest: e.digest, at: new Date(e.at).toISOString(), via: e.via, moved: e.moved };
}
