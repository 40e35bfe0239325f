import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const rbac = readFileSync(new URL('../../deploy/rbac.yaml', import.meta.url), 'utf8');

describe('deploy/ RBAC', () => {
  it('grants get/list on pods and nothing else (no secrets, no writes)', () => {
    const rules = rbac.slice(rbac.indexOf('rules:'), rbac.indexOf('---', rbac.indexOf('rules:')));
    expect(rules).toContain('resources: ["pods"]');
    expect(rules).toContain('verbs: ["get", "list"]');
    expect(rules.match(/resources:/g)).toHaveLength(1);
    expect(rbac).not.toMatch(/secrets|create|update|patch|delete|\*/);
  });
});
