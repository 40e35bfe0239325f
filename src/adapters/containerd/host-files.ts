/**
 * HostFiles: read-only access to the node's files through a root prefix
 * (`--host-root`, `/host` in the DaemonSet). Paths in and out are node paths;
 * only this adapter knows the prefix.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const MAX_CONFIG_BYTES = 1024 * 1024;

export type ReadResult = { ok: true; text: string } | { ok: false; kind: 'missing' | 'too-large' | 'error'; message: string };

export interface HostFiles {
  /** Reads a text file (at most MAX_CONFIG_BYTES). */
  read(path: string): ReadResult;
  /** Entry names of a directory, or undefined when it is not one. */
  list(dir: string): string[] | undefined;
  isDir(path: string): boolean;
}

export function createHostFiles(hostRoot: string): HostFiles {
  const real = (p: string) => (hostRoot === '/' || hostRoot === '' ? p : join(hostRoot, p));
  return {
    read(path) {
      let fd: number | undefined;
      try {
        fd = openSync(real(path), 'r');
        const size = fstatSync(fd).size;
        if (size > MAX_CONFIG_BYTES) return { ok: false, kind: 'too-large', message: `larger than ${MAX_CONFIG_BYTES} bytes` };
        const buf = Buffer.alloc(size);
        let off = 0;
        while (off < size) {
          const n = readSync(fd, buf, off, size - off, off);
          if (n === 0) break;
          off += n;
        }
        return { ok: true, text: buf.subarray(0, off).toString('utf8') };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, kind: 'missing', message: 'does not exist' };
        return { ok: false, kind: 'error', message: code ?? 'unreadable' };
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
    list(dir) {
      try {
        return readdirSync(real(dir)).sort();
      } catch {
        return undefined;
      }
    },
    isDir(path) {
      try {
        return statSync(real(path)).isDirectory();
      } catch {
        return false;
      }
    },
  };
}

/** An in-memory HostFiles for tests and fixtures: `{ '/etc/containerd/config.toml': '…' }`. */
export function memoryHostFiles(files: Record<string, string>): HostFiles {
  const dirs = new Set<string>();
  for (const p of Object.keys(files)) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/') || '/');
  }
  return {
    read: (path) =>
      path in files ? { ok: true, text: files[path]! } : dirs.has(path) ? { ok: false, kind: 'error', message: 'EISDIR' } : { ok: false, kind: 'missing', message: 'does not exist' },
    list: (dir) => {
      if (!dirs.has(dir)) return undefined;
      const prefix = dir === '/' ? '/' : `${dir}/`;
      const names = new Set<string>();
      for (const p of [...Object.keys(files), ...dirs]) if (p.startsWith(prefix) && p !== dir) names.add(p.slice(prefix.length).split('/')[0]!);
      return [...names].filter(Boolean).sort();
    },
    isDir: (path) => dirs.has(path),
  };
}
