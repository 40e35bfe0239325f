/**
 * Responses derived from one report, kept until the next scan: serialised once per (report,
 * key) and reused within a byte budget, dropped as soon as a new report arrives. A large
 * text is never one string (json-pieces.ts): only its gzip is kept, or it is streamed as it
 * is written, at most `maxLargeStreams` at once, so readers cannot multiply memory.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Report } from '../domain/report.js';
import { agentError } from '../domain/agent-api.js';
import { gzipPieces, jsonPieces } from './json-pieces.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const RESPONSE_CACHE_BYTES = 16 * 1024 * 1024;
const GZIP_MIN_BYTES = 1024;
/**
 * A response text longer than this is never built as one string, and only its gzip is
 * kept: at 5,000 images the report is 3 MiB of JSON, 0.6 MiB gzipped.
 */
const LARGE_TEXT_CHARS = 256 * 1024;

export class ResponseCache {
  private readonly texts = new Map<string, string>();
  private readonly compressed = new Map<string, Buffer>();
  /** Concurrent readers of a large answer share one preparation: the first gzips it, the others wait for it. */
  private readonly gzipping = new Map<string, { report: Report; body: Promise<Buffer> }>();
  private report: Report | undefined;
  private bytes = 0;
  private largeStreams = 0;

  constructor(private readonly maxLargeStreams: number) {}

  /** Drops everything derived from an older report. */
  forReport(r: Report | undefined): void {
    if (this.report === r) return;
    this.texts.clear();
    this.compressed.clear();
    this.bytes = 0;
    this.report = r;
  }

  /** A text for this report, built once (`build`) and kept while the budget allows. */
  text(r: Report, key: string, build: () => string): string {
    this.forReport(r);
    let t = this.texts.get(key);
    if (t === undefined) {
      t = build();
      this.keep(this.texts, key, t);
    }
    return t;
  }

  private keep<T extends string | Buffer>(map: Map<string, T>, key: string, value: T): void {
    if (!map.has(key) && this.bytes + value.length <= RESPONSE_CACHE_BYTES) {
      map.set(key, value);
      this.bytes += value.length;
    }
  }

  /**
   * Sends the JSON of `build()` for this report: gzip (compressed once per report and key)
   * when the client accepts it and it is worth it. A small text is kept in both encodings.
   */
  async sendJson(req: FastifyRequest, reply: FastifyReply, key: string, r: Report, build: () => unknown): Promise<FastifyReply> {
    this.forReport(r);
    reply.type(JSON_TYPE).header('vary', 'accept-encoding');
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const gz = gzip ? this.compressed.get(key) : undefined;
    if (gz) return reply.header('content-encoding', 'gzip').send(gz);
    const preparing = gzip ? this.gzipping.get(key) : undefined;
    if (preparing && preparing.report === r) return reply.header('content-encoding', 'gzip').send(await preparing.body);
    const cachedText = this.texts.get(key);
    const pieces = cachedText === undefined ? jsonPieces(build(), LARGE_TEXT_CHARS) : [cachedText][Symbol.iterator]();
    const first = pieces.next();
    const second = pieces.next();
    if (second.done) {
      const text = first.done ? 'null' : first.value;
      if (cachedText === undefined) this.keep(this.texts, key, text);
      if (!gzip || text.length < GZIP_MIN_BYTES) return reply.serializer((x: unknown) => x as string).send(text);
      const body = gzipSync(text);
      this.keep(this.compressed, key, body);
      return reply.header('content-encoding', 'gzip').send(body);
    }
    const all = (function* (): Generator<string> {
      yield first.value as string;
      yield second.value;
      yield* pieces;
    })();
    if (!gzip) {
      if (this.largeStreams >= this.maxLargeStreams) {
        return reply.code(503).header('retry-after', '1')
          .send(agentError('busy', `more than ${this.maxLargeStreams} large answers are being written: retry shortly (or ask with Accept-Encoding: gzip)`));
      }
      this.largeStreams += 1;
      reply.raw.once('close', () => (this.largeStreams -= 1));
      // One piece read ahead at a time: a slow reader holds one piece, not the whole answer.
      return reply.send(Readable.from(all, { highWaterMark: 1 }));
    }
    const body = gzipPieces(all);
    const entry = { report: r, body };
    this.gzipping.set(key, entry);
    try {
      const done = await body;
      // A new report may have arrived meanwhile: the answer goes out, but is kept only for its own report.
      if (this.report === r) this.keep(this.compressed, key, done);
      return reply.header('content-encoding', 'gzip').send(done);
    } finally {
      if (this.gzipping.get(key) === entry) this.gzipping.delete(key);
    }
  }
}
