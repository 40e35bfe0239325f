/** deploy/ (or an overlay of it) rendered by `kubectl kustomize`, as `kubectl apply -k` would apply it. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };
export const ROOT = new URL('../..', import.meta.url).pathname;

export function kustomize(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return (yaml.loadAll(out) as Obj[]).filter(Boolean);
}

/** An overlay of deploy/ with this kustomization body (paths relative to a dir two levels below the repository). */
export function overlay(body: string): Obj[] {
  mkdirSync(join(ROOT, '.tools'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.tools', 'overlay-'));
  try {
    writeFileSync(join(dir, 'kustomization.yaml'), body);
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
