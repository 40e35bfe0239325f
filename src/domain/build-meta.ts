/**
 * Build metadata from an OCI image config (`{created, config: {Labels}}`), wherever the
 * config came from (CRI ImageStatus(verbose), or a registry's config blob). The config
 * also carries `Env`, which may hold secrets: only the four OCI labels and `created`
 * are read, and nothing else is kept.
 */
import type { ImageBuildMeta } from './snapshot.js';

const META_LABELS: Record<string, keyof ImageBuildMeta> = {
  'org.opencontainers.image.version': 'version',
  'org.opencontainers.image.revision': 'revision',
  'org.opencontainers.image.created': 'created',
  'org.opencontainers.image.source': 'source',
};

const MAX_META_VALUE = 200;

export function buildMetaFromConfig(config: unknown): ImageBuildMeta | undefined {
  if (!config || typeof config !== 'object') return undefined;
  const spec = config as { created?: unknown; config?: { Labels?: unknown } };
  const out: Record<string, string> = {};
  const labels = spec.config?.Labels;
  if (labels && typeof labels === 'object') {
    for (const [label, key] of Object.entries(META_LABELS)) {
      const value = (labels as Record<string, unknown>)[label];
      if (typeof value === 'string' && value.length > 0) out[key] = value.slice(0, MAX_META_VALUE);
    }
  }
  if (!out['created'] && typeof spec.created === 'string') out['created'] = spec.created.slice(0, MAX_META_VALUE);
  return out as ImageBuildMeta;
}
