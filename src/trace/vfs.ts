// A tiny virtual file tree: the files ktrace shows as the kernel would (/proc/kallsyms now;
// /sys/kernel/tracing/* and /sys/kernel/debug/kprobes/* later). Files produce their text on
// read and may accept writes; failures are negative errno values, as from the kernel's
// file operations, never exceptions.
import { EACCES, EISDIR, ENOENT } from '../base/errno.js';

export type Result<T = {}> = ({ ok: true } & T) | { ok: false; errno: number; reason?: string };

export interface WriteOptions {
  /** true for `>` (O_TRUNC), false for `>>` (O_APPEND). */
  truncate: boolean;
}

export interface FileNode {
  kind: 'file';
  /** Permission bits as `ls -l` would show them (0o444 read-only, 0o644 writable, 0o200 write-only). */
  mode: number;
  read?(): string;
  write?(text: string, opts: WriteOptions): Result;
}

export interface DirNode {
  kind: 'dir';
  mode: number;
  children: Map<string, VfsNode>;
}

export type VfsNode = FileNode | DirNode;

function split(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

export class Vfs {
  readonly root: DirNode = { kind: 'dir', mode: 0o755, children: new Map() };

  /** The node at an absolute path (`..` is resolved lexically). */
  lookup(path: string): VfsNode | undefined {
    const parts = split(path);
    if (!parts) return undefined;
    const stack: DirNode[] = [this.root];
    let node: VfsNode = this.root;
    for (const p of parts) {
      if (p === '..') { if (stack.length > 1) stack.pop(); node = stack[stack.length - 1]!; continue; }
      if (node.kind !== 'dir') return undefined;
      const next: VfsNode | undefined = node.children.get(p);
      if (!next) return undefined;
      node = next;
      if (node.kind === 'dir') stack.push(node);
    }
    return node;
  }

  /** Creates the directory and its parents (mkdir -p); returns it. */
  mkdir(path: string, mode = 0o755): DirNode {
    let dir = this.root;
    for (const p of split(path) ?? []) {
      let next = dir.children.get(p);
      if (!next) { next = { kind: 'dir', mode, children: new Map() }; dir.children.set(p, next); }
      if (next.kind !== 'dir') throw new Error(`vfs: ${path}: ${p} is a file`);
      dir = next;
    }
    return dir;
  }

  /** Adds (or replaces) a file; parents are created. */
  addFile(path: string, file: Omit<FileNode, 'kind'>): void {
    const parts = split(path);
    if (!parts || parts.length === 0) throw new Error(`vfs: bad file path ${path}`);
    const name = parts.pop()!;
    this.mkdir('/' + parts.join('/')).children.set(name, { kind: 'file', ...file });
  }

  remove(path: string): boolean {
    const parts = split(path);
    if (!parts || parts.length === 0) return false;
    const name = parts.pop()!;
    const dir = this.lookup('/' + parts.join('/'));
    return dir?.kind === 'dir' ? dir.children.delete(name) : false;
  }

  read(path: string): Result<{ text: string }> {
    const n = this.lookup(path);
    if (!n) return { ok: false, errno: -ENOENT };
    if (n.kind === 'dir') return { ok: false, errno: -EISDIR };
    if (!n.read) return { ok: false, errno: -EACCES };
    return { ok: true, text: n.read() };
  }

  write(path: string, text: string, opts: WriteOptions): Result {
    const n = this.lookup(path);
    if (!n) return { ok: false, errno: -ENOENT };
    if (n.kind === 'dir') return { ok: false, errno: -EISDIR };
    if (!n.write) return { ok: false, errno: -EACCES };
    return n.write(text, opts);
  }

  /** Sorted entry names of a directory; a file lists as its own name (as `ls FILE` does). */
  list(path: string): Result<{ entries: { name: string; dir: boolean }[] }> {
    const n = this.lookup(path);
    if (!n) return { ok: false, errno: -ENOENT };
    if (n.kind === 'file') return { ok: true, entries: [{ name: path, dir: false }] };
    const entries = [...n.children].map(([name, c]) => ({ name, dir: c.kind === 'dir' }));
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { ok: true, entries };
  }
}
