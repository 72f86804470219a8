// What Node's fs cannot make: device nodes, FIFOs, overlayfs whiteouts
// (character device 0/0) and extended attributes (the opaque-directory
// mark trusted.overlay.opaque=y, a layer's security.capability). Made with
// coreutils' mknod and attr's setfattr (one call per layer for every
// xattr). Callers have already checked that no component of a path is a
// symlink, so these tools cannot be led out of the layer.
// TODO(native): mknodat/lsetxattr in the addon would spare the processes.
import { spawnSync } from 'node:child_process';

export class SpecialFileError extends Error {
  override name = 'SpecialFileError';
}

function run(cmd: string, args: string[], input: string | undefined, what: string, cwd?: string): void {
  const r = spawnSync(cmd, args, { input, cwd, encoding: 'utf8', stdio: ['pipe', 'ignore', 'pipe'] });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    const pkg = cmd === 'setfattr' ? 'attr' : 'coreutils';
    throw new SpecialFileError(`${what}: ${missing ? `${cmd} is not installed (Debian package ${pkg}; scripts/install-deps.sh installs it)` : r.error.message}`);
  }
  if (r.status !== 0) throw new SpecialFileError(`${what}: ${cmd} failed: ${(r.stderr || '').trim().split('\n')[0]}`);
}

export function makeNode(path: string, kind: 'char' | 'block' | 'fifo', mode: number, major = 0, minor = 0): void {
  const args = ['-m', (mode & 0o7777).toString(8), path, kind === 'char' ? 'c' : kind === 'block' ? 'b' : 'p'];
  if (kind !== 'fifo') args.push(String(major), String(minor));
  run('mknod', args, undefined, `making ${kind} node ${path}`);
}

/** An overlayfs whiteout: a character device 0/0 hides the name in every layer below. */
export function makeWhiteout(path: string): void {
  makeNode(path, 'char', 0, 0, 0);
}

export interface Xattr {
  /** Relative to the directory given to applyXattrs. */
  path: string;
  name: string;
  value: Buffer;
}

/** getfattr's quoting, which setfattr --restore undoes: octal escapes for anything unusual. */
function quote(path: string): string {
  let out = '';
  for (const b of Buffer.from(path, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._\-/+,@:%]/.test(c) ? c : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}

/** Sets every xattr (not following symlinks) in one setfattr run from `dir`. */
export function applyXattrs(dir: string, list: readonly Xattr[]): void {
  if (list.length === 0) return;
  const dump = list.map((x) => `# file: ${quote(x.path)}\n${x.name}=${x.value.length > 0 ? `0x${x.value.toString('hex')}` : '""'}\n`).join('\n');
  run('setfattr', ['-h', '--restore=-'], `${dump}\n`, `setting extended attributes in ${dir}`, dir);
}
