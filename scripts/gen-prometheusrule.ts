/** Writes deploy/components/monitoring/prometheusrule.yaml from deploy/alerts/tagdrift.rules.yaml (one source of truth). */
import { readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';

export function prometheusRule(rulesYaml: string): string {
  const rules = yaml.load(rulesYaml) as { groups: unknown[] };
  const doc = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'tagdrift', labels: { 'app.kubernetes.io/name': 'tagdrift' } },
    spec: { groups: rules.groups },
  };
  return `# Generated from deploy/alerts/tagdrift.rules.yaml by npm run docs: edit that file instead.\n${yaml.dump(doc, { lineWidth: 120, noRefs: true })}`;
}

if (process.argv[1]?.endsWith('gen-prometheusrule.ts')) {
  const src = new URL('../deploy/alerts/tagdrift.rules.yaml', import.meta.url);
  writeFileSync(new URL('../deploy/components/monitoring/prometheusrule.yaml', import.meta.url), prometheusRule(readFileSync(src, 'utf8')));
}
