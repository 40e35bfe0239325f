/** Exit codes of `scan` (and the usage codes every command shares). */
export const EXIT = { ok: 0, findings: 1, usage: 2, scanFailed: 3 } as const;
