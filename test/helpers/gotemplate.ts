/**
 * A small Go text/template evaluator, enough to render the corpus templates with
 * plausible values: comments, trim markers, if/else/end, range over maps and lists
 * with `$k, $v :=`, printf "%q", field paths on `.` and `$var`. Unknown functions
 * are false unless listed in `funcs`.
 */
type Node = { t: 'text'; s: string } | { t: 'expr'; e: string } | { t: 'if'; c: string; yes: Node[]; no: Node[] } | { t: 'range'; vars: string[]; e: string; body: Node[] };

function tokenize(src: string): { t: 'text' | 'act'; s: string }[] {
  const out: { t: 'text' | 'act'; s: string }[] = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    out.push({ t: 'text', s: text });
    if (!m[2]!.startsWith('/*')) out.push({ t: 'act', s: m[2]! });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  out.push({ t: 'text', s: trimNext ? src.slice(last).replace(/^\s+/, '') : src.slice(last) });
  return out;
}

function parse(tokens: { t: 'text' | 'act'; s: string }[], i = 0, stop: string[] = []): [Node[], number, string] {
  const nodes: Node[] = [];
  while (i < tokens.length) {
    const tok = tokens[i++]!;
    if (tok.t === 'text') {
      nodes.push({ t: 'text', s: tok.s });
      continue;
    }
    const a = tok.s;
    if (stop.includes(a.split(/\s/)[0]!)) return [nodes, i, a];
    if (a.startsWith('if ')) {
      const [yes, j, end] = parse(tokens, i, ['else', 'end']);
      let no: Node[] = [];
      i = j;
      if (end === 'else') [no, i] = parse(tokens, i, ['end']);
      nodes.push({ t: 'if', c: a.slice(3), yes, no });
    } else if (a.startsWith('range ')) {
      const m = /^range\s+(?:(\$\w+)(?:,\s*(\$\w+))?\s*:=\s*)?(.+)$/.exec(a)!;
      const [body, j] = parse(tokens, i, ['end']);
      i = j;
      nodes.push({ t: 'range', vars: [m[1], m[2]].filter(Boolean) as string[], e: m[3]!, body });
    } else nodes.push({ t: 'expr', e: a });
  }
  return [nodes, i, ''];
}

interface Scope {
  dot: unknown;
  root: unknown;
  vars: Record<string, unknown>;
}

function path(base: unknown, p: string): unknown {
  return p.split('.').filter(Boolean).reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), base);
}

function evalExpr(e: string, s: Scope, funcs: Record<string, (...a: unknown[]) => unknown>): unknown {
  const args = e.match(/"[^"]*"|\S+/g) ?? [];
  const value = (a: string): unknown => {
    if (a.startsWith('"')) return a.slice(1, -1);
    if (a === '.') return s.dot;
    if (a.startsWith('$')) {
      const [v, ...rest] = a.split('.');
      return path(s.vars[v!], rest.join('.'));
    }
    if (a.startsWith('.')) return path(s.dot, a);
    return a;
  };
  const [head, ...rest] = args;
  if (head === 'not') return !evalExpr(rest.join(' '), s, funcs);
  if (head === 'printf') return JSON.stringify(String(value(rest[1]!)));
  if (head && !head.startsWith('.') && !head.startsWith('$') && !head.startsWith('"')) {
    const fn = funcs[head];
    return fn ? fn(...rest.map(value)) : false;
  }
  return value(head ?? '.');
}

function render(nodes: Node[], s: Scope, funcs: Record<string, (...a: unknown[]) => unknown>): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.s;
    else if (n.t === 'expr') {
      const v = evalExpr(n.e, s, funcs);
      out += v === undefined || v === null ? '' : String(v);
    } else if (n.t === 'if') {
      const c = evalExpr(n.c, s, funcs);
      const truthy = Array.isArray(c) ? c.length > 0 : c && typeof c === 'object' ? Object.keys(c).length > 0 : !!c;
      out += render(truthy ? n.yes : n.no, s, funcs);
    } else {
      const coll = evalExpr(n.e, s, funcs);
      const entries: [unknown, unknown][] = Array.isArray(coll)
        ? coll.map((v, i) => [i, v])
        : coll && typeof coll === 'object'
          ? Object.entries(coll).sort(([a], [b]) => a.localeCompare(b))
          : [];
      for (const [k, v] of entries) {
        const vars = { ...s.vars };
        if (n.vars.length === 1) vars[n.vars[0]!] = v;
        if (n.vars.length === 2) Object.assign(vars, { [n.vars[0]!]: k, [n.vars[1]!]: v });
        out += render(n.body, { ...s, dot: v, vars }, funcs);
      }
    }
  }
  return out;
}

export function renderGoTemplate(src: string, data: unknown, funcs: Record<string, (...a: unknown[]) => unknown> = {}): string {
  const [nodes] = parse(tokenize(src));
  return render(nodes, { dot: data, root: data, vars: { $: data } }, funcs);
}

/** Shell-style `${var}` and `${VAR:-"default"}` substitution. */
export function renderShell(src: string, values: Record<string, string>): string {
  return src.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-"?([^}"]*)"?)?(%\/)?\}/g, (_, name: string, def?: string) => values[name] ?? def ?? `placeholder-${name.toLowerCase()}`);
}
