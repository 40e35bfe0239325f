/** A node's files written under a directory, as `--host-root` sees them: `{ '/etc/containerd/config.toml': '…' }`. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeNodeTree(base: string, name: string, files: Record<string, string>): string {
  const root = join(base, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}
