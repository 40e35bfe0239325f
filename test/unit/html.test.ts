/**
 * The HTML page (GET /): self-contained, no script, every hostile value escaped, served with
 * a strict Content-Security-Policy whose style hash matches the page's only style block.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/report/analyze.js';
import { HTML_CSP, renderHtml } from '../../src/render/html.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildApp } from '../../src/server/app.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';

const R = 'registry.example:5000';
const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'\x1b[2J';

function report() {
  const b = new SnapshotBuilder();
  const old = b.image('web-v1', [`${R}/shop/web:1.0`]);
  b.pod({ ns: 'shop', name: 'web-1', container: 'web', image: `${R}/shop/web:1.0`, imageId: old.id, owner: { kind: 'Deployment', name: 'web' } });
  const r = analyze(b.build());
  // A node's data under an attacker's control: pod names, messages and build labels reach the page.
  return { ...r, node: `node-${HOSTILE}`, findings: [...r.findings, { code: 'mutable-tag' as const, severity: 'warning' as const, message: `message ${HOSTILE}`, image: `${R}/x:${HOSTILE}`, containers: [{ namespace: HOSTILE, pod: HOSTILE, container: HOSTILE }], evidence: { runningDigest: HOSTILE, runningBuild: { version: HOSTILE } }, remediation: `kubectl -n shop rollout restart deployment/${HOSTILE}` }] };
}

describe('the HTML report page', () => {
  it('escapes every value and carries no script, no external asset', () => {
    const html = renderHtml(report());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<[a-z][^>]*\son\w+=/i);
    expect(html).not.toContain('\x1b');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain('<pre>kubectl -n shop rollout restart deployment/&lt;script&gt;');
  });

  it("the CSP allows exactly the page's one style block", () => {
    const html = renderHtml(report());
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]!).digest('base64');
    expect(HTML_CSP).toContain(`style-src 'sha256-${hash}'`);
    expect(HTML_CSP).toMatch(/^default-src 'none';/);
    expect(HTML_CSP).not.toContain('unsafe');
  });

  it('GET / serves it with the CSP, nosniff and no referrer; 503 before the first scan', async () => {
    const view = { report: undefined as ReturnType<typeof report> | undefined, reportJson: undefined, status: {}, ready: () => ({ ready: true, reason: 'ok' }), live: () => ({ live: true, reason: 'ok' }) };
    const app = await buildApp({ agent: view, metrics: new Metrics({ version: 't' }, { processMetrics: false }), version: 't' });
    try {
      expect((await app.inject('/')).statusCode).toBe(503);
      view.report = report();
      const res = await app.inject('/');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-security-policy']).toBe(HTML_CSP);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.body).toContain('mutable-tag');
    } finally {
      await app.close();
    }
  });
});
