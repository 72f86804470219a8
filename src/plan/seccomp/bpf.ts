// Classic BPF as seccomp runs it, and a small assembler whose jumps name
// labels. A conditional jump only reaches 255 instructions ahead (its
// offsets are 8 bits); the assembler puts a `ja` (32-bit offset) next to
// every jump that has to go further, and lays the program out again until
// every offset fits.

/** One BPF instruction: code, jump-if-true, jump-if-false, constant. */
export type BpfInstruction = [code: number, jt: number, jf: number, k: number];

// linux/bpf_common.h
export const BPF_LD_W_ABS = 0x20;
export const BPF_ALU_AND_K = 0x54;
export const BPF_JA = 0x05;
export const BPF_JEQ_K = 0x15;
export const BPF_JGT_K = 0x25;
export const BPF_JGE_K = 0x35;
export const BPF_RET_K = 0x06;

/** The kernel refuses longer programs (linux/bpf_common.h BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

// linux/seccomp.h: what a filter returns; the low 16 bits are data (an errno).
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

// struct seccomp_data: nr, arch, instruction_pointer, args[6] of 64 bits.
export const OFF_NR = 0;
export const OFF_ARCH = 4;
/** The two 32-bit words of argument `i` (every ABI peapod knows is little-endian: low word first). */
export const argWord = (i: number, word: 'lo' | 'hi'): number => 16 + 8 * i + (word === 'hi' ? 4 : 0);

export class BpfError extends Error {
  override name = 'BpfError';
}

type Target = string | null; // a label, or null: the next instruction

interface Op {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
  /** For `ja`: where it goes. */
  to?: string;
}

type Item = { op: Op } | { label: string };

export class Assembler {
  private readonly items: Item[] = [];
  private labels = 0;

  /** A fresh label name. */
  label(hint = 'L'): string {
    return `${hint}#${this.labels++}`;
  }
  place(label: string): this {
    this.items.push({ label });
    return this;
  }
  ld(offset: number): this {
    return this.push({ code: BPF_LD_W_ABS, k: offset });
  }
  and(k: number): this {
    return this.push({ code: BPF_ALU_AND_K, k });
  }
  /** A conditional jump; null falls through. */
  jump(code: number, k: number, jt: Target, jf: Target): this {
    return this.push({ code, k, jt, jf });
  }
  ja(to: string): this {
    return this.push({ code: BPF_JA, k: 0, to });
  }
  ret(k: number): this {
    return this.push({ code: BPF_RET_K, k });
  }

  private push(op: Op): this {
    this.items.push({ op: { ...op, k: op.k >>> 0 } });
    return this;
  }

  assemble(): BpfInstruction[] {
    // Which conditional jumps need a trampoline for jt / jf; grows until stable.
    const far = new Map<Op, { t: boolean; f: boolean }>();
    const size = (op: Op): number => {
      const f = far.get(op);
      return 1 + (f?.t ? 1 : 0) + (f?.f ? 1 : 0);
    };
    for (;;) {
      const { at, pc } = this.layout(size);
      let changed = false;
      for (const [op, p] of pc) {
        if (op.jt === undefined) continue;
        const f = far.get(op) ?? { t: false, f: false };
        for (const side of ['t', 'f'] as const) {
          const target = side === 't' ? op.jt : op.jf;
          if (target === null || target === undefined || f[side]) continue;
          if (this.address(target, at) - (p + 1) > 255) {
            f[side] = true;
            changed = true;
          }
        }
        far.set(op, f);
      }
      if (!changed) return this.emit(at, pc, far, size);
    }
  }

  private layout(size: (op: Op) => number): { at: Map<string, number>; pc: Map<Op, number> } {
    const at = new Map<string, number>();
    const pc = new Map<Op, number>();
    let n = 0;
    for (const item of this.items) {
      if ('label' in item) at.set(item.label, n);
      else {
        pc.set(item.op, n);
        n += size(item.op);
      }
    }
    return { at, pc };
  }

  private address(label: string, at: Map<string, number>): number {
    const a = at.get(label);
    if (a === undefined) throw new BpfError(`no label ${label}`);
    return a;
  }

  private emit(at: Map<string, number>, pc: Map<Op, number>, far: Map<Op, { t: boolean; f: boolean }>, size: (op: Op) => number): BpfInstruction[] {
    const out: BpfInstruction[] = [];
    const forward = (from: number, to: number): number => {
      if (to < from) throw new BpfError('a jump backwards: BPF only jumps forward');
      return to - from;
    };
    for (const item of this.items) {
      if ('label' in item) continue;
      const op = item.op;
      const p = pc.get(op) as number;
      const next = p + size(op);
      if (op.to !== undefined) {
        out.push([op.code, 0, 0, forward(p + 1, this.address(op.to, at))]);
        continue;
      }
      if (op.jt === undefined) {
        out.push([op.code, 0, 0, op.k]);
        continue;
      }
      const f = far.get(op) ?? { t: false, f: false };
      const dest = (t: Target): number => (t === null || t === undefined ? next : this.address(t, at));
      // Trampolines sit right after the jump: jt's first, then jf's.
      const jt = f.t ? 0 : forward(p + 1, dest(op.jt));
      const jf = f.f ? (f.t ? 1 : 0) : forward(p + 1, dest(op.jf ?? null));
      if (jt > 255 || jf > 255) throw new BpfError('a jump out of range after layout');
      out.push([op.code, jt, jf, op.k]);
      // A `ja` counts from the instruction after it.
      if (f.t) out.push([BPF_JA, 0, 0, forward(out.length + 1, dest(op.jt))]);
      if (f.f) out.push([BPF_JA, 0, 0, forward(out.length + 1, dest(op.jf ?? null))]);
    }
    return out;
  }
}
