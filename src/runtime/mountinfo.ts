// /proc/PID/mountinfo (proc(5)) as data: one entry a mount, with the
// fields' octal escapes undone. inspect reads a container's mounts with it;
// the runtime finds what it mounted under a pod's directory.
import { readFileSync } from 'node:fs';

export interface MountinfoEntry {
  id: number;
  parent: number;
  /** major:minor of the filesystem. */
  dev: string;
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/PID/mountinfo (proc(5)): one mount a line, optional fields ended by "-". */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0) continue;
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      dev: f[2] ?? '',
      root: unescape(f[3] ?? ''),
      mountPoint: unescape(f[4] ?? ''),
      options: (f[5] ?? '').split(','),
      fsType: f[dash + 1] ?? '',
      source: unescape(f[dash + 2] ?? ''),
      superOptions: unescape(f.slice(dash + 3).join(' ')).split(','),
    });
  }
  return out;
}

/** Mount points at or below any of `dirs` in this process's mount namespace, deepest first. */
export function mountsUnder(...dirs: string[]): string[] {
  const under = (point: string, dir: string): boolean => point === dir || point.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((m) => m.mountPoint)
    .filter((point) => dirs.some((dir) => under(point, dir)))
    .sort((a, b) => b.length - a.length);
}
