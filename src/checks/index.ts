/** The list of checks. Adding a finding: a code in finding-codes.ts, a check here, a README section. */
import type { Check } from './types.js';
import { checkMutableTag } from './mutable-tag.js';
import { checkRunning } from './running.js';
import { checkCacheStale, checkFailed, checkMirrorSkipped, checkMirrorStale } from './mirrors.js';
import { checkRegistryConfig } from './registry-config.js';
import { checkNodeNameMismatch, checkPodIntentUnavailable, checkPodUnread, checkRuntimeUnavailable, checkRuntimeUnsupported } from './sources.js';

export const CHECKS: readonly Check[] = [
  checkRuntimeUnavailable,
  checkRuntimeUnsupported,
  checkPodIntentUnavailable,
  checkPodUnread,
  checkNodeNameMismatch,
  checkRunning,
  checkMirrorStale,
  checkMirrorSkipped,
  checkCacheStale,
  checkFailed,
  checkMutableTag,
  checkRegistryConfig,
];
