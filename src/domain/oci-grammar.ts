/**
 * The OCI distribution grammar for what other parties send us by name: repositories, tags and
 * sha256 digests. One definition, used wherever a name from outside is believed.
 */

/** A repository name (path components of lower-case letters and digits joined by separators). */
export const OCI_REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** A tag: up to 128 characters, not starting with `.` or `-`. */
export const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** A sha256 digest as registries and containerd write it. */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** A repository name within the grammar and the 255-character limit registries keep. */
export function validRepository(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 255 && OCI_REPOSITORY.test(v);
}

export function validTag(v: unknown): v is string {
  return typeof v === 'string' && OCI_TAG.test(v);
}

export function validDigest(v: unknown): v is string {
  return typeof v === 'string' && SHA256_DIGEST.test(v);
}
