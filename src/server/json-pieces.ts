/**
 * `JSON.stringify(value)` in pieces of about `size` characters, so a large answer (the
 * report at 5,000 images is 3 MiB of JSON) is gzipped or sent without ever being one
 * string. Arrays directly under the top-level object are written element by element;
 * everything else is stringified whole. Joined, the pieces are exactly JSON.stringify's
 * text.
 */
import { createGzip } from 'node:zlib';

export function* jsonPieces(value: unknown, size = 64 * 1024): Generator<string, void, undefined> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  let buf = '{';
  let first = true;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    buf += `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    if (!Array.isArray(v)) {
      buf += JSON.stringify(v) ?? 'null';
    } else {
      buf += '[';
      for (let i = 0; i < v.length; i++) {
        buf += `${i === 0 ? '' : ','}${JSON.stringify(v[i]) ?? 'null'}`;
        if (buf.length >= size) {
          yield buf;
          buf = '';
        }
      }
      buf += ']';
    }
    if (buf.length >= size) {
      yield buf;
      buf = '';
    }
  }
  yield `${buf}}`;
}

/** Gzips the pieces as they come. */
export async function gzipPieces(pieces: Iterable<string>): Promise<Buffer> {
  const gz = createGzip();
  const out: Buffer[] = [];
  gz.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    gz.once('end', resolve);
    gz.once('error', reject);
  });
  for (const p of pieces) {
    if (!gz.write(p)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}
