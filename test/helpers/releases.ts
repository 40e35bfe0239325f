/**
 * The containerd releases the real-node tier runs its key scenarios on: all three by default
 * (TAGDRIFT_BED_RELEASES=1.6,2.1 narrows it, e.g. while working on one release).
 */
import { RELEASE_NAMES, RELEASES, type ReleaseName } from '../../testbed/releases.js';

export function bedReleases(): ReleaseName[] {
  const want = process.env['TAGDRIFT_BED_RELEASES'];
  if (!want) return RELEASE_NAMES;
  const names = want.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(RELEASE_NAMES as string[]).includes(n));
  if (unknown.length > 0) throw new Error(`TAGDRIFT_BED_RELEASES: unknown release ${unknown.join(', ')} (known: ${RELEASE_NAMES.join(', ')})`);
  return names as ReleaseName[];
}

export const releaseLabel = (rel: ReleaseName): string => `containerd ${RELEASES[rel].version}`;
export { RELEASES, type ReleaseName };
