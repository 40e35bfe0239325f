/**
 * Text for a terminal. Image labels, pod names and registry answers are written by
 * people this tool does not trust (an image author controls its labels): control
 * characters in them could set the terminal's title, clear the screen or forge
 * lines. Every string of a report is cleaned before a table is drawn; the
 * renderer's own colours are added afterwards. JSON output is left as is (JSON
 * escapes control characters itself).
 */

/** C0 controls but newline, DEL and C1 controls (ESC, BEL, CSI, OSC …). */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/** Keys whose values are free text from outside (labels, details): newlines there are flattened too. */
const EVIDENCE_KEYS = new Set(['evidence']);

function clean(value: unknown, flattenLines: boolean): unknown {
  if (typeof value === 'string') {
    const s = value.replace(CONTROL, '\uFFFD');
    return flattenLines ? s.replace(/\n/g, ' ') : s;
  }
  if (Array.isArray(value)) return value.map((v) => clean(v, flattenLines));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = clean(v, flattenLines || EVIDENCE_KEYS.has(k));
    return out;
  }
  return value;
}

/** A copy of `data` whose strings carry no terminal control characters. */
export function terminalSafe<T>(data: T): T {
  return clean(data, false) as T;
}
