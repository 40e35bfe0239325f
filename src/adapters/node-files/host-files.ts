/**
 * HostFiles: read-only access to the node's files through a root prefix
 * (`--host-root`, `/host` in the DaemonSet). Paths in and out are node paths;
 * only this adapter knows the prefix.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';

export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Symlinks followed while resolving one path, as Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;

export type ReadResult = { ok: true; text: string } | { ok: false; kind: 'missing' | 'too-large' | 'error'; message: string };

export interface HostFiles {
  /** Reads a text file (at most MAX_CONFIG_BYTES). */
  read(path: string): ReadResult;
  /** Entry names of a directory, or undefined when it is not one. */
  list(dir: string): string[] | undefined;
  isDir(path: string): boolean;
}

class OutsideError extends Error {}

/**
 * Where a node path is on this machine when the node's root is mounted at `root`: every
 * component is resolved inside the root as the node itself would (`..` stops at the root,
 * a symlink's absolute target starts again from the root, relative targets from the link's
 * directory), so neither `ca = "/../../x"` nor a symlink can reach outside it.
 */
export function resolveInRoot(root: string, nodePath: string): string {
  const parts = nodePath.split('/').filter((p) => p !== '' && p !== '.');
  const out: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '..') {
      out.pop();
      continue;
    }
    const candidate = join(root, ...out, part);
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch {
      // Missing: nothing further can be a link; the rest resolves lexically.
    }
    if (!isLink) {
      out.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new OutsideError('too many levels of symbolic links');
    const target = readlinkSync(candidate);
    if (target.startsWith('/')) out.length = 0;
    parts.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return join(root, ...out);
}

export function createHostFiles(hostRoot: string): HostFiles {
  const chrooted = hostRoot !== '/' && hostRoot !== '';
  const real = (p: string) => (chrooted ? resolveInRoot(hostRoot, p) : p);
  return {
    read(path) {
      let fd: number | undefined;
      try {
        // Non-blocking: opening a FIFO for reading never waits for a writer. No symlink may
        // replace the resolved path between resolving and opening it.
        fd = openSync(real(path), constants.O_RDONLY | constants.O_NONBLOCK | (chrooted ? constants.O_NOFOLLOW : 0));
        const st = fstatSync(fd);
        if (!st.isFile()) return { ok: false, kind: 'error', message: st.isDirectory() ? 'EISDIR' : 'not a regular file (FIFO, socket or device): not read' };
        const size = st.size;
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
        if (e instanceof OutsideError) return { ok: false, kind: 'error', message: e.message };
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, kind: 'missing', message: 'does not exist' };
        if (code === 'ELOOP') return { ok: false, kind: 'error', message: 'a symbolic link changed while it was read' };
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

/** Whether a node file exists, from its directory's listing (the file itself is read once, by its reader). */
export function nodeFileExists(files: HostFiles): (nodePath: string) => boolean {
  return (p) => files.list(posix.dirname(p))?.includes(posix.basename(p)) === true;
}
