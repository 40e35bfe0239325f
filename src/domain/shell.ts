/**
 * Text a user may paste into a shell is built only from validated parts, each quoted as one
 * word: a namespace, workload or container name from the Kubernetes API, an image name from a
 * pod spec, a digest from a registry or resolver answer. A hostile value stays one inert word.
 */

/** `s` as a single POSIX shell word: as it is when it holds only safe characters, else single-quoted. */
export function shellWord(s: string): string {
  if (/^[A-Za-z0-9@%+=:,./_-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A content digest as registries answer it (`sha256:` and 64 lowercase hex digits). */
export { SHA256_DIGEST } from './oci-grammar.js';
