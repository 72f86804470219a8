// The seccomp filter of a non-privileged container, written here as a BPF
// program (plain numbers the child hands to the kernel as they are).
//
// Capabilities decide almost everything; the filter closes what they leave
// open:
//   - mknod/mknodat of a character or block device fails with EPERM, so
//     CAP_MKNOD (in the default set) makes FIFOs and sockets, never a device:
//     /dev holds only what the runtime put there (no devices cgroup needed);
//   - unshare/clone with CLONE_NEWUSER fails with EPERM: no user namespace in
//     which root could mount again, as Docker's default profile does;
//   - clone3 fails with ENOSYS (its flags sit in memory a filter cannot read),
//     so libc falls back to clone, which is checked.
// Every ABI the kernel accepts on the machine is checked (on x86-64 also the
// i386 and x32 entry points), or a 32-bit mknod would walk around the filter.

/** One BPF instruction: code, jump-if-true, jump-if-false, constant. */
export type BpfInstruction = [code: number, jt: number, jf: number, k: number];

// linux/bpf_common.h, linux/seccomp.h, linux/audit.h
const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JSET_K = 0x45;
const BPF_RET_K = 0x06;
const BPF_ALU_AND_K = 0x54;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLow = (i: number): number => 16 + 8 * i; // little-endian: the low word first

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const CLONE_NEWUSER = 0x10000000;
const X32 = 0x40000000;

interface AbiTable {
  arch: number;
  mknod?: number;
  mknodat: number;
  unshare: number;
  clone: number;
  clone3: number;
  x32?: boolean;
}

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const AUDIT_ARCH_ARM = 0x40000028;

const ABIS: Record<string, AbiTable[]> = {
  x64: [
    { arch: AUDIT_ARCH_X86_64, mknod: 133, mknodat: 259, unshare: 272, clone: 56, clone3: 435, x32: true },
    { arch: AUDIT_ARCH_I386, mknod: 14, mknodat: 297, unshare: 310, clone: 120, clone3: 435 },
  ],
  arm64: [
    { arch: AUDIT_ARCH_AARCH64, mknodat: 33, unshare: 97, clone: 220, clone3: 435 },
    { arch: AUDIT_ARCH_ARM, mknod: 14, mknodat: 324, unshare: 337, clone: 120, clone3: 435 },
  ],
};

/** A tiny assembler: jumps name labels, resolved to offsets at the end. */
class Program {
  private readonly code: Array<{ ins: BpfInstruction; jt?: string; jf?: string } | { label: string }> = [];

  ld(offset: number): this {
    this.code.push({ ins: [BPF_LD_W_ABS, 0, 0, offset] });
    return this;
  }
  and(k: number): this {
    this.code.push({ ins: [BPF_ALU_AND_K, 0, 0, k] });
    return this;
  }
  jeq(k: number, jt: string, jf?: string): this {
    this.code.push({ ins: [BPF_JEQ_K, 0, 0, k >>> 0], jt, ...(jf ? { jf } : {}) });
    return this;
  }
  jset(k: number, jt: string): this {
    this.code.push({ ins: [BPF_JSET_K, 0, 0, k >>> 0], jt });
    return this;
  }
  ret(k: number): this {
    this.code.push({ ins: [BPF_RET_K, 0, 0, k >>> 0] });
    return this;
  }
  label(name: string): this {
    this.code.push({ label: name });
    return this;
  }

  assemble(): BpfInstruction[] {
    const at = new Map<string, number>();
    let pc = 0;
    for (const c of this.code) {
      if ('label' in c) at.set(c.label, pc);
      else pc++;
    }
    const out: BpfInstruction[] = [];
    for (const c of this.code) {
      if ('label' in c) continue;
      const here = out.length;
      const offset = (label: string | undefined): number => {
        if (label === undefined) return 0;
        const to = at.get(label);
        if (to === undefined) throw new Error(`seccomp: no label ${label}`);
        const d = to - here - 1;
        if (d < 0 || d > 255) throw new Error(`seccomp: jump to ${label} out of range (${d})`);
        return d;
      };
      const [code, , , k] = c.ins;
      out.push([code, offset(c.jt), offset(c.jf), k]);
    }
    return out;
  }
}

/** The default filter for `arch` (Node's process.arch); null where peapod has no table. */
export function defaultSeccompFilter(arch: string): BpfInstruction[] | null {
  const abis = ABIS[arch];
  if (!abis) return null;
  const p = new Program();
  p.ld(OFF_ARCH);
  abis.forEach((abi, i) => p.jeq(abi.arch, `abi${i}`));
  // An ABI this table does not know cannot be checked: refuse its system calls.
  p.ret(RET_ERRNO | ENOSYS);
  abis.forEach((abi, i) => {
    p.label(`abi${i}`).ld(OFF_NR);
    const bases = abi.x32 ? [0, X32] : [0];
    for (const base of bases) {
      if (abi.mknod !== undefined) p.jeq(base + abi.mknod, 'mode_arg1');
      p.jeq(base + abi.mknodat, 'mode_arg2');
      p.jeq(base + abi.unshare, 'flags_arg0');
      p.jeq(base + abi.clone, 'flags_arg0');
      p.jeq(base + abi.clone3, 'enosys');
    }
    p.ret(RET_ALLOW);
  });
  for (const [label, arg] of [['mode_arg1', 1], ['mode_arg2', 2]] as const) {
    p.label(label).ld(argLow(arg)).and(S_IFMT).jeq(S_IFCHR, 'eperm').jeq(S_IFBLK, 'eperm').ret(RET_ALLOW);
  }
  p.label('flags_arg0').ld(argLow(0)).jset(CLONE_NEWUSER, 'eperm').ret(RET_ALLOW);
  p.label('eperm').ret(RET_ERRNO | EPERM);
  p.label('enosys').ret(RET_ERRNO | ENOSYS);
  return p.assemble();
}
