/**
 * The "Every source file" section of docs/architecture.md: each file under src/ with the first
 * sentence of its header comment. `npm run docs` rewrites it; a test fails when it is stale.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The first sentence of a file's leading doc comment (after any shebang). */
export function headline(text: string): string | undefined {
  const m = /^(?:#![^\n]*\n)?\s*\/\*\*([\s\S]*?)\*\//.exec(text);
  if (!m) return undefined;
  const flat = m[1]!.split('\n').map((l) => l.replace(/^\s*\*\s?/, '').trim()).join(' ').replace(/\s+/g, ' ').trim();
  // The sentence ends at the first ". " or ": " outside parentheses and `code`.
  let parens = 0;
  let code = false;
  for (let i = 0; i < flat.length; i++) {
    const c = flat[i];
    if (c === '`') code = !code;
    else if (!code && c === '(') parens += 1;
    else if (!code && c === ')') parens = Math.max(0, parens - 1);
    else if (!code && parens === 0 && (c === '.' || c === ':') && (i === flat.length - 1 || flat[i + 1] === ' ')) return flat.slice(0, i);
  }
  return flat;
}

export function sourceIndex(): string {
  const rows = files(join(ROOT, 'src')).map((f) => {
    const rel = relative(ROOT, f);
    const h = headline(readFileSync(f, 'utf8'));
    return `| \`${rel}\` | ${(h ?? '(no header comment)').replace(/\|/g, '\\|')} |`;
  });
  return ['## Every source file', '', 'Generated from each file\'s header comment (`npm run docs`; a test fails when it is stale).', '', '| file | what it holds |', '|---|---|', ...rows, ''].join('\n');
}

/** docs/architecture.md with its "Every source file" section replaced by the current one. */
export function architectureWithIndex(doc: string): string {
  const start = doc.indexOf('## Every source file');
  const head = start >= 0 ? doc.slice(0, start).trimEnd() : doc.trimEnd();
  return `${head}\n\n${sourceIndex()}`;
}
