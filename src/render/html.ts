/**
 * The agent's report as one self-contained HTML page for people on a port-forward: no
 * script, no external asset, one inline style allowed by its hash in a strict
 * Content-Security-Policy. Every value from the node, the registries or an image label is
 * escaped (and control characters dropped) before it is written.
 */
import { createHash } from 'node:crypto';
import { SEVERITIES, type Severity } from '../domain/finding-codes.js';
import type { Finding, Report } from '../domain/report.js';
import { buildsOf, digestsOf, isStale, mirrorLagOf, movedAtOf } from '../domain/evidence.js';
import { formatSeconds } from '../domain/tag-truth.js';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#d0d7de}
main{padding:16px 24px;max-width:1200px}
section{margin:0 0 20px}
h2{font-size:16px;margin:16px 0 8px}
table{border-collapse:collapse;background:#fff}
td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
.finding{background:#fff;border:1px solid #d0d7de;border-left:6px solid #8c959f;border-radius:4px;padding:8px 12px;margin:8px 0}
.critical{border-left-color:#cf222e}.warning{border-left-color:#bf8700}.info{border-left-color:#0969da}
.sev{font-weight:700;text-transform:uppercase;font-size:12px;margin-right:8px}
.critical .sev{color:#cf222e}.warning .sev{color:#9a6700}.info .sev{color:#0969da}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:6px 8px;white-space:pre-wrap;word-break:break-all;user-select:all}
.ok{color:#1a7f37}.fail{color:#cf222e}
nav a{margin-right:12px}
`.trim();

/** The Content-Security-Policy the page is served with: nothing but its own inline style. */
export const HTML_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(CONTROL, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function findingBlock(f: Finding): string {
  const digests = digestsOf(f).map((d) => `<tr><th>${esc(d.key)}</th><td><code>${esc(d.digest)}</code></td></tr>`);
  const builds = buildsOf(f).map(({ role, build: b }) => `<tr><th>${esc(role)} build</th><td>${esc([b.version, b.revision, b.created].filter(Boolean).join(' '))}</td></tr>`);
  const moved = movedAtOf(f);
  const lag = mirrorLagOf(f);
  if (moved) builds.push(`<tr><th>upstream moved at</th><td>${esc(moved.at)}${moved.announced ? ' (registry notification)' : ''}</td></tr>`);
  if (lag) builds.push(`<tr><th>mirror behind</th><td>${lag.atLeast ? 'at least ' : ''}${esc(formatSeconds(lag.seconds))}</td></tr>`);
  const containers = f.containers.slice(0, 50).map((c) => `<li><code>${esc(c.namespace ?? '?')}/${esc(c.pod ?? '?')}</code> container <code>${esc(c.container)}</code></li>`);
  const held = f.confirmed?.heldThrough
    ? `<tr><th>last confirmed</th><td>${esc(f.confirmed.at)} (held through ${esc(f.confirmed.heldThrough.join('; '))})</td></tr>`
    : '';
  const more = f.containers.length > 50 ? `<li>… and ${f.containers.length - 50} more (see /v1/findings)</li>` : '';
  const fixes = f.remediation.split('\n').filter(Boolean).map((l) => (/^(kubectl|crictl|ctr|nerdctl|argocd|flux) /.test(l) ? `<pre>${esc(l)}</pre>` : `<p>${esc(l)}</p>`));
  return `<article class="finding ${esc(f.severity)}">
<div><span class="sev">${esc(f.severity)}</span><strong>${esc(f.code)}</strong>${f.image ? ` <code>${esc(f.image)}</code>` : ''}</div>
<p>${esc(f.message)}</p>${f.silenced ? `<p>Silenced by ${esc(f.silenced.by)}: not counted, no alert, no Event.</p>` : ''}
${containers.length > 0 ? `<ul>${containers.join('')}${more}</ul>` : ''}
${digests.length + builds.length > 0 || held ? `<table>${digests.join('')}${builds.join('')}${held}</table>` : ''}
${fixes.join('\n')}
</article>`;
}

export function renderHtml(report: Report): string {
  const stale = new Set(report.findings.filter((f) => isStale(f) && !f.silenced).map((f) => f.image ?? f.code)).size;
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, report.findings.filter((f) => f.severity === s).length])) as Record<Severity, number>;
  const sources = Object.entries(report.sources)
    .filter((e): e is [string, NonNullable<(typeof e)[1]>] => e[1] !== undefined)
    .map(([name, s]) => `<tr><th>${esc(name)}</th><td class="${s.ok ? 'ok' : 'fail'}">${s.ok ? 'ok' : 'failed'}</td><td>${s.error ? esc(`${s.error.kind}: ${s.error.message}`) : ''}</td><td>${esc(s.durationMs)} ms</td></tr>`);
  const rt = report.runtime ? `${report.runtime.name} ${report.runtime.version} (CRI ${report.runtime.apiVersion})` : 'unavailable';
  const running = report.containers.filter((c) => c.state === 'running').length;
  const bySeverity = SEVERITIES.map((sev) => {
    const list = report.findings.filter((f) => f.severity === sev);
    return list.length === 0 ? '' : `<section><h2>${esc(sev)} (${list.length})</h2>${list.map(findingBlock).join('\n')}</section>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tagdrift: ${esc(report.node)}</title>
<style>${STYLE}</style></head>
<body>
<header><h1>tagdrift — node ${esc(report.node)}</h1>
<p>runtime ${esc(rt)} · ${esc(report.platform ?? '')} · scanned ${esc(report.generatedAt)} · ${report.images.length} images, ${running} running containers · pod intent from ${report.intentSource === 'kubernetes' ? 'the Kubernetes API' : 'CRI only'}</p></header>
<main>
<nav><a href="/v1/report">report (JSON)</a><a href="/v1/findings">findings</a><a href="/v1/images">images</a><a href="/v1/containers">containers</a><a href="/v1/registries">registries</a><a href="/metrics">metrics</a><a href="/openapi.json">API</a></nav>
<section><h2>Summary</h2><p><strong>${counts.critical}</strong> critical, <strong>${counts.warning}</strong> warning, <strong>${counts.info}</strong> info${stale > 0 ? `; <strong>${stale}</strong> tag${stale === 1 ? '' : 's'} stale (a newer image is behind the tag)` : ''}</p>
<table><tr><th>source</th><th>status</th><th>error</th><th>took</th></tr>${sources.join('')}</table></section>
${report.findings.length === 0 ? '<section><h2>No findings</h2><p>Every running container runs what its tag points to, as far as this node can tell.</p></section>' : bySeverity}
</main></body></html>
`;
}
