// What the kernel says about processes and memory, read from /proc. The
// bench measures from the host, never through peapod's own bookkeeping.
import { readdirSync, readFileSync } from 'node:fs';

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread (not the CPU) for `ms`: for tight polling loops. */
export function sleepSync(ms) {
  Atomics.wait(SLEEPER, 0, 0, ms);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function now() {
  return performance.now();
}

function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: split after the last ")".
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Start time in clock ticks (field 22): with the pid, names one process. */
export function startTime(pid) {
  const f = statFields(pid);
  return f ? Number(f[19]) : null;
}

export function processState(pid) {
  const f = statFields(pid);
  return f ? f[0] : null;
}

/** True while the process (pid, start) exists and is not a zombie. */
export function alive(pid, start) {
  const f = statFields(pid);
  if (!f) return false;
  if (start !== undefined && start !== null && Number(f[19]) !== start) return false;
  return f[0] !== 'Z' && f[0] !== 'X';
}

let clockTicks = 100;
export function setClockTicks(n) {
  if (Number.isFinite(n) && n > 0) clockTicks = n;
}

/** utime + stime of a process, in ms. */
export function cpuMs(pid) {
  const f = statFields(pid);
  if (!f) return null;
  return ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks;
}

/** cutime + cstime of a process (its reaped children's CPU), in ms. */
export function childrenCpuMs(pid) {
  const f = statFields(pid);
  if (!f) return null;
  return ((Number(f[13]) + Number(f[14])) * 1000) / clockTicks;
}

/** A field of /proc/PID/status in KiB (VmRSS, RssAnon, RssFile, ...). */
export function statusKiB(pid, field) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** A field of /proc/PID/smaps_rollup in KiB (Pss, Rss, ...). */
export function rollupKiB(pid, field) {
  try {
    const m = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function meminfoKiB(field) {
  const m = readFileSync('/proc/meminfo', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : null;
}

/** Every process on the host: pid, ppid, comm. */
export function processes() {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      out.push({ pid: Number(entry), ppid: Number(f[1]), state: f[0], comm });
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

export function childrenOf(pid, list = processes()) {
  return list.filter((p) => p.ppid === pid);
}

/** Every descendant of `pid` (not itself). */
export function descendants(pid, list = processes()) {
  const byParent = new Map();
  for (const p of list) {
    const kids = byParent.get(p.ppid) ?? [];
    kids.push(p);
    byParent.set(p.ppid, kids);
  }
  const out = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const kid of byParent.get(queue.shift()) ?? []) {
      out.push(kid);
      queue.push(kid.pid);
    }
  }
  return out;
}

/** Number of processes in a procfs directory (e.g. a container's /proc: its PID namespace). */
export function countPids(procDir) {
  let n = 0;
  for (const entry of readdirSync(procDir)) {
    const c = entry.charCodeAt(0);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** Mount points of this mount namespace at or under `dir`, deepest first. */
export function mountsUnder(dir) {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const raw = line.split(' ')[4];
    if (raw === undefined) continue;
    const point = raw.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    if (point === dir || point.startsWith(prefix)) points.push(point);
  }
  return points.sort((a, b) => b.length - a.length);
}

/** The filesystem type and mount point under a path (longest matching mount point). */
export function fsOf(path) {
  let best = { point: '', type: null, options: '' };
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const parts = line.split(' ');
    if (parts.length < 10) continue;
    const point = parts[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    const sep = parts.indexOf('-');
    const inside = path === point || path.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && point.length >= best.point.length) best = { point, type: parts[sep + 1], options: parts[5] };
  }
  return best;
}

/** cutime + cstime: CPU of the children this process has reaped, in ms. */
export function reapedChildrenCpuMs(pid) {
  const f = statFields(pid);
  if (!f) return null;
  return ((Number(f[13]) + Number(f[14])) * 1000) / clockTicks;
}

/** Time on CPU (ns precision, from schedstat) of a process given by its proc directory, in ms; null if gone. */
export function cpuMsAt(procPidDir) {
  try {
    return Number(readFileSync(`${procPidDir}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}
