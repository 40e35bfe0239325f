/**
 * A clock for durations that never steps: milliseconds since the epoch as they were when the
 * process started, advanced by the monotonic clock. A wall-clock step (NTP, a VM resumed, an
 * operator) moves neither budgets, cache lifetimes, backoff nor holds.
 */
export function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}
