/**
 * The registry client's tag answers: each kept for its endpoint's cache period, bounded, and
 * replaced (or dropped) by a push the endpoint announced; with the tag's history, since when
 * each digest is answered. No I/O: the client asks, this keeps.
 */
import type { TagResolved, TagSince, TagUnverified } from '../../domain/tag-truth.js';
import { TagHistory } from './tag-history.js';

/** Tag answers kept at most (one per endpoint, registry name, repository and tag). */
export const MAX_CACHED_ANSWERS = 20_000;

type Answer = TagResolved | TagUnverified;

export class TagAnswers {
  private readonly cache = new Map<string, { expires: number; value: Answer }>();
  private readonly history = new TagHistory();
  /** endpoint|repository|tag → the latest push notified, so an answer asked before it cannot replace it. */
  private readonly pushed = new Map<string, { digest: string; at: number }>();

  constructor(private readonly now: () => number, private readonly ttlFor: (endpointUrl: string) => number) {}

  /** The answer for `repository:tag` asked as `registry` at this endpoint, while it is fresh. */
  get(endpointUrl: string, registry: string, repository: string, tag: string): Answer | undefined {
    const cached = this.cache.get(`${endpointUrl}|${registry}|${repository}|${tag}`);
    return cached && cached.expires > this.now() ? cached.value : undefined;
  }

  /**
   * Keeps what the endpoint answered to a question asked at `askedAt`, with since when it answers
   * that digest; a push announced meanwhile wins over it. Returns the answer to give.
   */
  answered(endpointUrl: string, registry: string, repository: string, tag: string, askedAt: number, answer: Answer): Answer {
    const now = this.now();
    const key = `${endpointUrl}|${registry}|${repository}|${tag}`;
    const tagKey = `${endpointUrl}|${repository}|${tag}`;
    const push = this.pushed.get(tagKey);
    if (answer.ok && push && push.at >= askedAt && push.digest !== answer.digest) {
      const notified = this.cache.get(key);
      if (notified) return notified.value;
    }
    const value: Answer = answer.ok ? { ...answer, confirmedAt: new Date(now).toISOString(), since: this.history.observe(tagKey, answer.digest, now, 'answer') } : answer;
    if (value.ok || value.kind === 'not-found') this.keep(key, endpointUrl, value);
    return value;
  }

  private keep(key: string, endpointUrl: string, value: Answer): void {
    // Bounded: beyond the cap the oldest answer goes (it is asked again when needed).
    if (!this.cache.has(key) && this.cache.size >= MAX_CACHED_ANSWERS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { expires: this.now() + this.ttlFor(endpointUrl), value });
  }

  /**
   * A push the endpoint itself announced: the tag's history gains the digest, and every kept
   * answer for the tag at this endpoint is replaced by it (with a media type) or dropped
   * (without one, so the next question asks). Returns how many kept answers it touched.
   */
  notePush(endpointUrl: string, repository: string, tag: string, digest: string, mediaType: string | undefined): { since: TagSince; answers: number } {
    const now = this.now();
    const tagKey = `${endpointUrl}|${repository}|${tag}`;
    const since = this.history.observe(tagKey, digest, now, 'notification');
    this.pushed.delete(tagKey);
    if (this.pushed.size >= MAX_CACHED_ANSWERS) this.pushed.delete(this.pushed.keys().next().value!);
    this.pushed.set(tagKey, { digest, at: now });
    const prefix = `${endpointUrl}|`;
    const suffix = `|${repository}|${tag}`;
    let answers = 0;
    for (const [key, entry] of [...this.cache]) {
      if (!key.startsWith(prefix) || !key.endsWith(suffix) || key.slice(prefix.length, -suffix.length).includes('|')) continue;
      answers += 1;
      if (entry.value.ok && entry.value.digest === digest) continue;
      if (mediaType === undefined) this.cache.delete(key);
      else this.keep(key, endpointUrl, { ok: true, digest, mediaType, confirmedAt: new Date(now).toISOString(), since });
    }
    return { since, answers };
  }

  /** What the tag was seen to point to at this endpoint, oldest first. */
  tagHistory(endpointUrl: string, repository: string, tag: string): readonly TagSince[] {
    return this.history.history(`${endpointUrl}|${repository}|${tag}`);
  }
}
