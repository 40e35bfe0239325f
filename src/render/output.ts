/**
 * What every command prints the way kubectl users expect: `-o table|wide|json|yaml` (auto:
 * table on a terminal, JSON otherwise), colour only on a terminal that wants it (NO_COLOR
 * and TERM=dumb are honoured), and long lines wrapped at word boundaries to the terminal's
 * width, never inside a word (a digest or a reference stays whole).
 */
import yaml from 'js-yaml';

export type Format = 'table' | 'wide' | 'json' | 'yaml';

export function outputFormat(option: 'table' | 'wide' | 'json' | 'yaml' | 'auto', isTTY: boolean): Format {
  return option === 'auto' ? (isTTY ? 'table' : 'json') : option;
}

export function useColor(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  return isTTY && !env['NO_COLOR'] && env['TERM'] !== 'dumb';
}

/** The width to wrap to: the terminal's (or COLUMNS), nothing when not a terminal. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv): number | undefined {
  if (!stream.isTTY) return undefined;
  const fromEnv = Number(env['COLUMNS']);
  const w = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : stream.columns;
  return w && w >= 40 ? w : undefined;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visible = (s: string): number => s.replace(ANSI, '').length;

/** Wraps each line longer than `width` at spaces; continuation lines keep the line's indent plus two. */
export function wrap(text: string, width: number | undefined): string {
  if (!width) return text;
  return text
    .split('\n')
    .map((line) => {
      if (visible(line) <= width) return line;
      const indent = /^ */.exec(line)![0];
      const words = line.slice(indent.length).split(' ');
      const lines: string[] = [];
      let cur = indent;
      let curLen = indent.length;
      const hang = `${indent}  `;
      for (const word of words) {
        const w = visible(word);
        const atStart = cur === indent || cur === hang;
        if (!atStart && curLen + 1 + w > width) {
          lines.push(cur);
          cur = hang + word;
          curLen = hang.length + w;
        } else {
          cur = atStart ? cur + word : `${cur} ${word}`;
          curLen += atStart ? w : 1 + w;
        }
      }
      lines.push(cur);
      return lines.join('\n');
    })
    .join('\n');
}

export function serialize(data: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : yaml.dump(data, { lineWidth: -1, noRefs: true });
}
