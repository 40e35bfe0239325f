/**
 * One GET (or a small JSON POST) with the limits every read of another process needs: a hard deadline that
 * tears the socket down, an idle timeout, gzip accepted and undone, and a cap on the
 * (decompressed) body. Callers say which errors to raise for "too large" and "timed out".
 */
import http from 'node:http';
import https from 'node:https';
import { createGunzip } from 'node:zlib';

export interface CappedGetErrors {
  tooLarge(maxBytes: number): Error;
  timeout(kind: 'deadline' | 'idle', ms: number): Error;
}

export interface SendBody {
  readonly method: 'POST' | 'PATCH';
  readonly body: Buffer;
  readonly contentType: string;
}

export function getCapped(url: URL, opts: https.RequestOptions, timeoutMs: number, maxBytes: number, errors: CappedGetErrors, send?: SendBody | Buffer): Promise<{ status: number; body: Buffer }> {
  const post: SendBody | undefined = Buffer.isBuffer(send) ? { method: 'POST', body: send, contentType: 'application/json' } : send;
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string> | undefined), 'accept-encoding': 'gzip' };
    if (post) {
      headers['content-type'] = post.contentType;
      headers['content-length'] = String(post.body.length);
    }
    const req = mod.request(url, { ...opts, method: post ? post.method : 'GET', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
      body.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) req.destroy(errors.tooLarge(maxBytes));
        else chunks.push(c);
      });
      body.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      body.on('error', reject);
    });
    const deadline = setTimeout(() => req.destroy(errors.timeout('deadline', timeoutMs)), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(errors.timeout('idle', timeoutMs)));
    req.on('error', reject);
    req.end(post?.body);
  });
}
