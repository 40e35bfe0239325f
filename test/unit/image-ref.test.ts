import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRef, ImageRefError, parseImageRef, parseRepoDigest, tagRef, tryParseImageRef } from '../../src/domain/image-ref.js';

const D = 'sha256:' + 'ab'.repeat(32);

describe('parseImageRef normalises real-world references', () => {
  const table: [string, string, boolean?][] = [
    ['nginx', 'docker.io/library/nginx:latest', true],
    ['nginx:1.25', 'docker.io/library/nginx:1.25'],
    ['library/nginx:1.25', 'docker.io/library/nginx:1.25'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest', true],
    ['index.docker.io/library/nginx:stable', 'docker.io/library/nginx:stable'],
    ['registry-1.docker.io/bitnami/redis:7.2', 'docker.io/bitnami/redis:7.2'],
    ['bitnami/redis', 'docker.io/bitnami/redis:latest', true],
    ['localhost/app', 'localhost/app:latest', true],
    ['localhost:5000/team/app:v1', 'localhost:5000/team/app:v1'],
    ['127.0.0.1:5000/app:dev', '127.0.0.1:5000/app:dev'],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    ['ghcr.io/nycterent/ziurkes/bookwyrm:release-0.8.2', 'ghcr.io/nycterent/ziurkes/bookwyrm:release-0.8.2'],
    ['harbor.minoko.life/minoko/blog:latest', 'harbor.minoko.life/minoko/blog:latest'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0', '123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0'],
    ['mcr.microsoft.com/oss/kubernetes/pause:3.6', 'mcr.microsoft.com/oss/kubernetes/pause:3.6'],
    [`nginx@${D}`, `docker.io/library/nginx@${D}`],
    [`nginx:1.25@${D}`, `docker.io/library/nginx:1.25@${D}`],
    [`quay.io/org/app:v1.2.3-rc.1@${D}`, `quay.io/org/app:v1.2.3-rc.1@${D}`],
    ['my-registry.example.com:8443/a/b/c/d:tag_with.dots-1', 'my-registry.example.com:8443/a/b/c/d:tag_with.dots-1'],
    ['foo__bar/baz.qux-quux:1', 'docker.io/foo__bar/baz.qux-quux:1'],
    ['[::1]:5000/app:1', '[::1]:5000/app:1'],
  ];
  it.each(table)('%s → %s', (input, expected, implicit) => {
    const ref = parseImageRef(input);
    expect(formatRef(ref)).toBe(expected);
    expect(ref.implicitTag).toBe(implicit === true);
  });

  it('keeps tag and digest apart', () => {
    const ref = parseImageRef(`ghcr.io/o/app:1.0@${D}`);
    expect(ref).toMatchObject({ registry: 'ghcr.io', repository: 'o/app', tag: '1.0', digest: D });
    expect(tagRef(ref)).toBe('ghcr.io/o/app:1.0');
  });

  it('a digest-only reference has no tag', () => {
    const ref = parseImageRef(`nginx@${D}`);
    expect(ref.tag).toBeUndefined();
    expect(tagRef(ref)).toBeUndefined();
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['Nginx', /lowercase/],
    ['nginx:', /malformed tag/],
    ['nginx:-bad', /malformed tag/],
    [`nginx@sha256:abc`, /malformed digest|64/],
    [`sha256:${'a'.repeat(64)}`, /image ID/],
    ['a//b', /malformed repository/],
    [' nginx', /whitespace/],
    ['http://registry/app', /malformed/],
    ['registry.example.com/', /malformed repository|missing/],
  ];
  it.each(bad)('rejects %j with a clear error', (input, why) => {
    expect(() => parseImageRef(input)).toThrow(ImageRefError);
    expect(() => parseImageRef(input)).toThrow(why);
    expect(tryParseImageRef(input)).toBeUndefined();
  });

  it('parses repo digests as CRI reports them', () => {
    expect(parseRepoDigest(`docker.io/library/nginx@${D}`)).toEqual({ name: 'docker.io/library/nginx', digest: D });
    expect(parseRepoDigest('docker.io/library/nginx:1.25')).toBeUndefined();
  });

  it('never throws anything but ImageRefError, and round-trips what it accepts (10,000 inputs)', () => {
    const alphabet = fc.constantFrom(...'abcz09.-_/:@'.split(''), 'sha256:', D.slice(7), 'Z', ' ', 'localhost', 'docker.io/');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(alphabet, { maxLength: 20 }).map((a) => a.join(''))), (s) => {
        let ref;
        try {
          ref = parseImageRef(s);
        } catch (e) {
          expect(e).toBeInstanceOf(ImageRefError);
          return;
        }
        expect(formatRef(parseImageRef(formatRef(ref)))).toBe(formatRef(ref));
      }),
      { numRuns: 10_000 },
    );
  });
});
