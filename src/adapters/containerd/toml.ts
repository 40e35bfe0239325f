/**
 * TOML parsing that never leaks file content: @iarna/toml's messages quote the
 * offending source line (which may hold a password), so only the message's leading
 * description, the line and the column are kept.
 */
import TOML from '@iarna/toml';
import type { ConfigProblem } from '../../domain/registry-config.js';

export type TomlTable = Record<string, unknown>;

export type TomlResult = { ok: true; value: TomlTable } | { ok: false; problem: ConfigProblem };

export function parseTomlSafe(text: string, file: string): TomlResult {
  try {
    return { ok: true, value: TOML.parse(text) as TomlTable };
  } catch (e) {
    const err = e as { message?: string; line?: number; col?: number };
    const raw = String(err.message ?? 'invalid TOML');
    // "Can't redefine existing key at row 7, col 6, pos 95:\n6: …" → "Can't redefine existing key"
    const reason = raw.split(/ at row \d+|\n/)[0]!.slice(0, 120);
    return {
      ok: false,
      problem: {
        file,
        line: typeof err.line === 'number' ? err.line + 1 : undefined,
        column: typeof err.col === 'number' ? err.col + 1 : undefined,
        reason: `invalid TOML: ${reason}`,
      },
    };
  }
}

export function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}
