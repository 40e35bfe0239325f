/**
 * TOML parsing that never leaks file content: @iarna/toml's messages quote the
 * offending source line (which may hold a password), so only the message's leading
 * description, the line and the column are kept.
 */
import TOML from '@iarna/toml';
import type { ConfigProblem } from '../../domain/registry-config.js';

export type TomlTable = Record<string, unknown>;

export type TomlResult = { ok: true; value: TomlTable } | { ok: false; problem: ConfigProblem; /** tagdrift's own limit, not invalid TOML */ limit?: boolean };

/** Deepest nesting of arrays and inline tables tagdrift parses (containerd's files use 2). */
export const MAX_TOML_NESTING = 32;

/**
 * The deepest `[`/`{` nesting outside strings and comments, stopping early past `limit`.
 * Parsing a megabyte of nested arrays costs the parser hundreds of MiB; this scan costs none.
 */
export function tomlNesting(text: string, limit = MAX_TOML_NESTING): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const end = triple ? c.repeat(3) : c;
      i += end.length;
      while (i < text.length && !text.startsWith(end, i)) {
        if (c === '"' && text[i] === '\\') i++;
        else if (!triple && text[i] === '\n') break;
        i++;
      }
      i += end.length - 1;
    } else if (c === '[' || c === '{') {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === ']' || c === '}') {
      depth = Math.max(0, depth - 1);
    }
  }
  return max;
}

export function parseTomlSafe(text: string, file: string): TomlResult {
  if (tomlNesting(text) > MAX_TOML_NESTING) {
    return { ok: false, problem: { file, reason: `arrays or inline tables nested deeper than ${MAX_TOML_NESTING}: not parsed (tagdrift's own limit)` }, limit: true };
  }
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
