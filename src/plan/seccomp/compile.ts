// A seccomp profile -> one BPF program for every ABI the host accepts.
//
// The program: load seccomp_data.arch and jump to that ABI's part (an ABI
// the host has but the profile does not cover answers ENOSYS to every
// call); there, a binary search over the call number, on ranges of numbers
// that get the same answer, so a call costs about log2(ranges) compares,
// not one per allowed call. A call whose answer depends on its arguments
// ends in a chain: each conditional rule in the profile's order (the first
// whose conditions all hold answers), then the call's unconditional rule,
// then the profile's default. Arguments are 64 bits, compared word by word;
// on the 32-bit ABIs only the low word exists. A number above the highest
// call the tables know (newer than the headers they came from) answers
// ENOSYS when the default refuses, as runc does, so libc falls back to the
// older call (fchmodat2 -> fchmodat).
import { abiByScmp, ABIS, lastKnown, MACHINES, X32_SYSCALL_BIT, type Abi, type AbiName } from './abi.js';
import {
  argWord,
  Assembler,
  BPF_JEQ_K,
  BPF_JGE_K,
  BPF_JGT_K,
  BPF_MAXINSNS,
  OFF_ARCH,
  OFF_NR,
  SECCOMP_RET,
  type BpfInstruction,
} from './bpf.js';
import type { SeccompAction, SeccompArg, SeccompCondition, SeccompProfile, SeccompRule } from './profile.js';

export interface CompileTarget {
  /** Node's process.arch. */
  arch: string;
  /** Every capability the process may hold (its bounding set), as CHOWN or CAP_CHOWN. */
  caps: readonly string[];
  /** The running kernel's [major, minor], for minKernel. */
  kernel: readonly [number, number];
}

export class SeccompCompileError extends Error {
  override name = 'SeccompCompileError';
}

const EPERM = 1;
const ENOSYS = 38;
const NO_SUCH_CALL = SECCOMP_RET.ERRNO | ENOSYS;
const U32 = 0xffffffff;

function retOf(action: SeccompAction, errno: number | undefined): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET.ALLOW;
    case 'SCMP_ACT_ERRNO':
      return SECCOMP_RET.ERRNO | (errno ?? EPERM);
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET.TRAP;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET.LOG;
    case 'SCMP_ACT_TRACE':
      // What the kernel answers when no tracer is attached; and a tracer
      // inside the container must not get to decide.
      return NO_SUCH_CALL;
  }
}

const capName = (c: string): string => c.toUpperCase().replace(/^CAP_/, '');

function applies(rule: SeccompRule, target: CompileTarget, goarch: string): boolean {
  const caps = new Set(target.caps.map(capName));
  const atLeast = (v: string): boolean => {
    const [a = 0, b = 0] = v.split('.').map(Number);
    const [k, m] = target.kernel;
    return k > a || (k === a && m >= b);
  };
  const ex: SeccompCondition = rule.excludes ?? {};
  if (ex.arches?.includes(goarch) || ex.caps?.some((c) => caps.has(capName(c))) || (ex.minKernel && atLeast(ex.minKernel))) return false;
  const inc: SeccompCondition = rule.includes ?? {};
  if (inc.arches?.length && !inc.arches.includes(goarch)) return false;
  if (inc.caps?.some((c) => !caps.has(capName(c)))) return false;
  if (inc.minKernel && !atLeast(inc.minKernel)) return false;
  return true;
}

/** The ABIs the profile covers on this machine: the native one always (as libseccomp), and those it names. */
function coveredAbis(profile: SeccompProfile, native: Abi): Set<AbiName> {
  let named: string[] = [];
  if (profile.architectures) named = profile.architectures;
  else if (profile.archMap) {
    const entry = profile.archMap.find((e) => e.architecture === native.scmp);
    if (entry) named = [entry.architecture, ...entry.subArchitectures];
  }
  const out = new Set<AbiName>([native.name]);
  for (const n of named) {
    const abi = abiByScmp(n);
    if (abi) out.add(abi.name);
  }
  return out;
}

interface Conditional {
  conds: SeccompArg[];
  ret: number;
}

/** What one call number gets: conditional rules in order, then a fixed answer. */
interface Decision {
  conditional: Conditional[];
  fixed?: number;
}

type Leaf = { ret: number } | { decision: Decision };

interface Segment {
  lo: number;
  hi: number;
  leaf: Leaf;
}

function decisions(rules: SeccompRule[], abi: Abi): Map<number, Decision> {
  const out = new Map<number, Decision>();
  for (const rule of rules) {
    const ret = retOf(rule.action, rule.errnoRet);
    const args = rule.args ?? [];
    // Several conditions on one argument: each is a rule of its own (runc's reading).
    const indexes = args.map((a) => a.index);
    const alternatives = new Set(indexes).size < indexes.length ? args.map((a) => [a]) : [args];
    for (const name of rule.names) {
      const nr = abi.table[name];
      if (nr === undefined) continue; // not a call of this ABI
      const d = out.get(nr) ?? { conditional: [] };
      out.set(nr, d);
      if (args.length === 0) d.fixed ??= ret;
      else for (const conds of alternatives) d.conditional.push({ conds, ret });
    }
  }
  return out;
}

function leafOf(d: Decision | undefined, defaultRet: number): Leaf {
  const fallback = d?.fixed ?? defaultRet;
  const conditional = [...(d?.conditional ?? [])];
  // Trailing rules that answer as the fallback does change nothing.
  while (conditional.length > 0 && conditional[conditional.length - 1]?.ret === fallback) conditional.pop();
  return conditional.length === 0 ? { ret: fallback } : { decision: { conditional, fixed: fallback } };
}

/** Every number of [lo, hi] of one ABI, as segments; numbers above the table answer `newer`. */
function numberLine(abi: Abi, rules: SeccompRule[], defaultRet: number, newer: number, lo: number, hi: number): Segment[] {
  const ds = decisions(rules, abi);
  const last = lastKnown(abi);
  const out: Segment[] = [];
  const gap = (from: number, to: number): void => {
    if (from > to) return;
    if (from <= last) out.push({ lo: from, hi: Math.min(to, last), leaf: { ret: defaultRet } });
    if (to > last) out.push({ lo: Math.max(from, last + 1), hi: to, leaf: { ret: newer } });
  };
  let next = lo;
  for (const nr of [...new Set(Object.values(abi.table))].sort((a, b) => a - b)) {
    if (nr < lo || nr > hi) continue;
    gap(next, nr - 1);
    out.push({ lo: nr, hi: nr, leaf: leafOf(ds.get(nr), defaultRet) });
    next = nr + 1;
  }
  gap(next, hi);
  return out;
}

/** Neighbouring segments with the same plain answer become one. */
function merge(segments: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    const prev = out[out.length - 1];
    if (prev && 'ret' in prev.leaf && 'ret' in s.leaf && prev.leaf.ret === s.leaf.ret && prev.hi + 1 === s.lo) prev.hi = s.hi;
    else out.push({ ...s });
  }
  return out;
}

const split = (v: bigint): [hi: number, lo: number] => [Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)];

/**
 * Falls through when the condition holds, jumps to `fail` when not. On a
 * 32-bit ABI the argument's high word is 0, so its part is decided here.
 */
function condition(p: Assembler, c: SeccompArg, wide: boolean, fail: string): void {
  const [vh, vl] = split(c.value);
  const lo = argWord(c.index, 'lo');
  const hi = argWord(c.index, 'hi');
  if (c.op === 'SCMP_CMP_MASKED_EQ') {
    const [wh, wl] = split(c.valueTwo);
    if (wide && vh !== 0) p.ld(hi).and(vh).jump(BPF_JEQ_K, wh, null, fail);
    else if (wh !== 0) {
      p.ja(fail); // (high word & mask) is 0, never wh
      return;
    }
    p.ld(lo).and(vl).jump(BPF_JEQ_K, wl, null, fail);
    return;
  }
  // Decide on the high words; equal high words leave it to the low ones.
  const ok = p.label('ok');
  if (wide) {
    p.ld(hi);
    switch (c.op) {
      case 'SCMP_CMP_EQ':
        p.jump(BPF_JEQ_K, vh, null, fail);
        break;
      case 'SCMP_CMP_NE':
        p.jump(BPF_JEQ_K, vh, null, ok);
        break;
      case 'SCMP_CMP_GT':
      case 'SCMP_CMP_GE':
        p.jump(BPF_JGT_K, vh, ok, null);
        if (vh !== 0) p.jump(BPF_JEQ_K, vh, null, fail);
        break;
      case 'SCMP_CMP_LT':
      case 'SCMP_CMP_LE':
        p.jump(BPF_JGT_K, vh, fail, null);
        if (vh !== 0) p.jump(BPF_JEQ_K, vh, null, ok);
        break;
    }
  } else if (vh !== 0) {
    // 0 < vh: EQ, GT, GE never hold; NE, LT, LE always do.
    if (c.op === 'SCMP_CMP_EQ' || c.op === 'SCMP_CMP_GT' || c.op === 'SCMP_CMP_GE') p.ja(fail);
    return;
  }
  p.ld(lo);
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      p.jump(BPF_JEQ_K, vl, null, fail);
      break;
    case 'SCMP_CMP_NE':
      p.jump(BPF_JEQ_K, vl, fail, null);
      break;
    case 'SCMP_CMP_GT':
      p.jump(BPF_JGT_K, vl, null, fail);
      break;
    case 'SCMP_CMP_GE':
      p.jump(BPF_JGE_K, vl, null, fail);
      break;
    case 'SCMP_CMP_LT':
      p.jump(BPF_JGE_K, vl, fail, null);
      break;
    case 'SCMP_CMP_LE':
      p.jump(BPF_JGT_K, vl, fail, null);
      break;
  }
  p.place(ok);
}

function leaf(p: Assembler, l: Leaf, wide: boolean): void {
  if ('ret' in l) {
    p.ret(l.ret);
    return;
  }
  for (const rule of l.decision.conditional) {
    const next = p.label('next');
    for (const c of rule.conds) condition(p, c, wide, next);
    p.ret(rule.ret);
    p.place(next);
  }
  p.ret(l.decision.fixed ?? SECCOMP_RET.ERRNO | EPERM);
}

/** A binary search over the segments (seccomp_data.nr in A). */
function search(p: Assembler, s: Segment[], a: number, b: number, wide: boolean): void {
  if (a === b) {
    leaf(p, (s[a] as Segment).leaf, wide);
    return;
  }
  const mid = (a + b + 1) >> 1;
  const right = p.label('ge');
  p.jump(BPF_JGE_K, (s[mid] as Segment).lo, right, null);
  search(p, s, a, mid - 1, wide);
  p.place(right);
  search(p, s, mid, b, wide);
}

/** Compiles `profile` (after `extra` rules, which come first) for the machine of `target`. */
export function compileProfile(profile: SeccompProfile, target: CompileTarget, extra: readonly SeccompRule[] = []): BpfInstruction[] {
  const machine = MACHINES[target.arch];
  if (!machine) {
    throw new SeccompCompileError(`no system call tables for the ${target.arch} architecture: a seccomp filter cannot be built (set seccompProfile type: Unconfined to run without one)`);
  }
  const native = ABIS[machine.abis[0] as AbiName];
  const covered = coveredAbis(profile, native);
  const rules = [...extra, ...profile.syscalls].filter((r) => applies(r, target, machine.goarch));
  const defaultRet = retOf(profile.defaultAction, profile.defaultErrnoRet);
  const refuses = profile.defaultAction !== 'SCMP_ACT_ALLOW' && profile.defaultAction !== 'SCMP_ACT_LOG';
  const newer = refuses ? NO_SUCH_CALL : defaultRet;
  const line = (name: AbiName, lo: number, hi: number): Segment[] =>
    covered.has(name) ? numberLine(ABIS[name], rules, defaultRet, newer, lo, hi) : [{ lo, hi, leaf: { ret: NO_SUCH_CALL } }];

  // One branch per AUDIT_ARCH value; x86-64's also holds x32's numbers.
  const branches: Array<{ auditArch: number; segments: Segment[]; wide: boolean }> = [];
  for (const name of machine.abis) {
    // x32 is in x86-64's branch; an ABI not covered falls to the ENOSYS after the dispatch.
    if (name === 'x32' || !covered.has(name)) continue;
    const segments =
      name === 'x86_64' ? [...line('x86_64', 0, X32_SYSCALL_BIT - 1), ...line('x32', X32_SYSCALL_BIT, U32)] : line(name, 0, U32);
    branches.push({ auditArch: ABIS[name].auditArch, segments: merge(segments), wide: ABIS[name].wide });
  }

  const p = new Assembler();
  p.ld(OFF_ARCH);
  const labels = branches.map((b) => {
    const l = p.label('abi');
    p.jump(BPF_JEQ_K, b.auditArch, l, null);
    return l;
  });
  p.ret(NO_SUCH_CALL);
  branches.forEach((b, i) => {
    p.place(labels[i] as string).ld(OFF_NR);
    search(p, b.segments, 0, b.segments.length - 1, b.wide);
  });
  const program = p.assemble();
  if (program.length > BPF_MAXINSNS) {
    throw new SeccompCompileError(`the filter is ${program.length} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}; use fewer argument rules`);
  }
  return program;
}
