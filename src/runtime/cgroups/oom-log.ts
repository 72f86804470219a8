// Which process the kernel's OOM killer chose, from the kernel log: each
// kill prints `oom-kill:constraint=...,oom_memcg=...,task_memcg=/path,
// task=NAME,pid=N,uid=U` (the line cadvisor's oomparser and the node problem
// detector read). A cgroup's own counters say how many were killed, never
// which; /dev/kmsg does.
import { closeSync, constants, openSync, readSync } from 'node:fs';

export interface OomVictim {
  pid: number;
  /** The process's name (its comm, 15 bytes at most). */
  comm: string;
  /** The memory cgroup of the process, as the kernel prints it (`/peapod/pod<uid>/<name>`). */
  memcg: string;
}

/** The OOM kills in kernel log messages (the text of /dev/kmsg records after their `;`), oldest first. */
export function parseOomKills(messages: readonly string[]): OomVictim[] {
  const out: OomVictim[] = [];
  for (const m of messages) {
    if (!m.startsWith('oom-kill:')) continue;
    const fields = new Map(
      m
        .slice('oom-kill:'.length)
        .split(',')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
    );
    const pid = Number(fields.get('pid'));
    const memcg = fields.get('task_memcg');
    if (Number.isInteger(pid) && memcg !== undefined) out.push({ pid, comm: fields.get('task') ?? '?', memcg });
  }
  return out;
}

/** Every record /dev/kmsg still holds, as message text; [] when it cannot be read (no CAP_SYSLOG, no /dev/kmsg). */
export function kernelMessages(path = '/dev/kmsg'): string[] {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return [];
  }
  const out: string[] = [];
  const buf = Buffer.alloc(8192);
  try {
    // One record per read; EAGAIN at the end, EPIPE for a record overwritten meanwhile.
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') continue;
        break;
      }
      if (n <= 0) break;
      const text = buf.toString('utf8', 0, n);
      const semi = text.indexOf(';');
      out.push(text.slice(semi + 1).split('\n')[0] ?? '');
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** The last process the OOM killer chose in the memory cgroup at `path` (below the hierarchy's root). */
export function lastOomVictim(path: string, messages: readonly string[] = kernelMessages()): OomVictim | undefined {
  const memcg = `/${path.replace(/^\/+/, '')}`;
  return parseOomKills(messages)
    .filter((v) => v.memcg === memcg)
    .at(-1);
}
