import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipPieces, jsonPieces } from '../../src/server/json-pieces.js';

const values: unknown[] = [
  { a: 1, skip: undefined, f: () => 1, list: [1, undefined, () => 2, { x: 'é ✓ "q" \\ \n' }, null], nested: { deep: [1, 2] }, '10': 'integer key first' },
  { images: Array.from({ length: 2_000 }, (_, i) => ({ id: `sha256:${String(i).padStart(64, '0')}`, repoTags: [`r/x:${i}`], size: i, pinned: i % 2 === 0 })), node: 'n' },
  { empty: [], also: {} },
  {},
  [1, 2, 3],
  'text',
  null,
  { toJSON: () => ({ replaced: true }) },
  { when: new Date(0), big: [new Date(1)] },
];

describe('JSON in pieces', () => {
  it('joined, the pieces are JSON.stringify, whatever the piece size', () => {
    for (const v of values) {
      for (const size of [1, 7, 1024, 64 * 1024]) expect(Array.from(jsonPieces(v, size)).join('')).toBe(JSON.stringify(v) ?? 'null');
    }
  });

  it('a large array comes in pieces of about the size asked, never one string', () => {
    const pieces = Array.from(jsonPieces(values[1], 16 * 1024));
    expect(pieces.length).toBeGreaterThan(5);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(16 * 1024 + 200);
  });

  it('gzipped piece by piece, it decompresses to the same text', async () => {
    const gz = await gzipPieces(jsonPieces(values[1], 4096));
    expect(gunzipSync(gz).toString('utf8')).toBe(JSON.stringify(values[1]));
  });
});
