// The seccomp compiler, checked by running what it produces: a BPF
// interpreter (written here, after the kernel's rules for classic BPF) runs
// each program over seccomp_data inputs of every ABI, with 64-bit arguments.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES } from '../../src/plan/capabilities.js';
import { seccompFilter, type SeccompChoice } from '../../src/plan/seccomp.js';
import { BPF_JA, BPF_MAXINSNS, type BpfInstruction } from '../../src/plan/seccomp/bpf.js';
import { compileProfile, SeccompCompileError, type CompileTarget } from '../../src/plan/seccomp/compile.js';
import { DEVICE_NODE_RULES, RUNTIME_DEFAULT } from '../../src/plan/seccomp/default-profile.js';
import { OPS, parseSeccompProfile, SeccompProfileError, type SeccompOp, type SeccompProfile } from '../../src/plan/seccomp/profile.js';
import { SYSCALL_TABLES } from '../../src/plan/seccomp/syscalls.js';

const AUDIT = { x86_64: 0xc000003e, i386: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028 } as const;
const X32 = 0x40000000;
const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const errno = (e: number): number => 0x00050000 | e;

interface Input {
  arch: number;
  nr: number;
  args?: bigint[];
}

/** Runs a seccomp program as the kernel would; returns the action and how many instructions ran. */
function execute(program: BpfInstruction[], input: Input): { ret: number; steps: number } {
  expect(program.length).toBeGreaterThan(0);
  expect(program.length).toBeLessThanOrEqual(BPF_MAXINSNS);
  const word = (off: number): number => {
    if (off === 0) return input.nr >>> 0;
    if (off === 4) return input.arch >>> 0;
    if (off === 8 || off === 12) return 0; // instruction_pointer
    if (off < 16 || off > 60 || off % 4 !== 0) throw new Error(`load outside seccomp_data: ${off}`);
    const arg = input.args?.[Math.floor((off - 16) / 8)] ?? 0n;
    return Number((off % 8 === 0 ? arg : arg >> 32n) & 0xffffffffn);
  };
  let a = 0;
  let steps = 0;
  for (let pc = 0; pc < program.length; pc++) {
    steps++;
    const [code, jt, jf, k] = program[pc] as BpfInstruction;
    expect(jt).toBeLessThanOrEqual(255);
    expect(jf).toBeLessThanOrEqual(255);
    switch (code) {
      case 0x20: a = word(k); break;
      case 0x54: a = (a & k) >>> 0; break;
      case 0x05: pc += k; break;
      case 0x15: pc += a === k ? jt : jf; break;
      case 0x25: pc += a > k ? jt : jf; break;
      case 0x35: pc += a >= k ? jt : jf; break;
      case 0x45: pc += (a & k) !== 0 ? jt : jf; break;
      case 0x06: return { ret: k >>> 0, steps };
      default: throw new Error(`unknown BPF code ${code} at ${pc}`);
    }
  }
  throw new Error('fell off the end of the filter');
}

const run = (program: BpfInstruction[], input: Input): number => execute(program, input).ret;

const x64 = (caps: readonly string[] = DEFAULT_CAPABILITIES): CompileTarget => ({ arch: 'x64', caps, kernel: [6, 1] });
const nr = (abi: keyof typeof SYSCALL_TABLES, name: string): number => {
  const n = (SYSCALL_TABLES[abi] as Record<string, number>)[name];
  if (n === undefined) throw new Error(`${name} is not a call of ${abi}`);
  return n;
};

describe('the syscall tables', () => {
  it('have every ABI, with the numbers the headers give', () => {
    expect([nr('x86_64', 'read'), nr('x86_64', 'io_uring_setup'), nr('x86_64', 'keyctl')]).toEqual([0, 425, 250]);
    expect([nr('i386', 'socketcall'), nr('i386', 'socket'), nr('i386', 'arch_prctl')]).toEqual([102, 359, 384]);
    expect([nr('x32', 'read'), nr('x32', 'rt_sigaction')]).toEqual([X32, X32 + 512]);
    expect([nr('aarch64', 'openat'), nr('aarch64', 'clone'), nr('aarch64', 'fstat')]).toEqual([56, 220, 80]);
    expect([nr('arm', 'clone'), nr('arm', 'set_tls'), nr('arm', 'sync_file_range2')]).toEqual([120, 0x0f0005, 341]);
    expect(SYSCALL_TABLES.aarch64).not.toHaveProperty('open'); // asm-generic has openat only
  });
});

describe('RuntimeDefault on x86-64', () => {
  const program = compileProfile(RUNTIME_DEFAULT, x64(), DEVICE_NODE_RULES);
  const call = (name: string, ...args: bigint[]): number => run(program, { arch: AUDIT.x86_64, nr: nr('x86_64', name), args });

  it('allows ordinary work', () => {
    for (const name of ['read', 'write', 'openat', 'getppid', 'execve', 'wait4', 'pipe2', 'epoll_wait', 'futex', 'arch_prctl', 'mmap', 'bind', 'ptrace']) {
      expect(call(name), name).toBe(ALLOW);
    }
    expect(call('clone', 0x01200011n)).toBe(ALLOW); // fork: CLONE_CHILD_SETTID|CLEARTID|SIGCHLD
    expect(call('clone', 0x003d0f00n)).toBe(ALLOW); // a pthread
    expect(call('socket', 2n)).toBe(ALLOW);
    expect(call('mknod', 0n, 0o010600n)).toBe(ALLOW); // a FIFO
  });

  it('refuses io_uring, keyrings, userfaultfd, mounts, modules, reboot, bpf', () => {
    for (const name of ['io_uring_setup', 'io_uring_enter', 'io_uring_register', 'keyctl', 'add_key', 'request_key', 'userfaultfd', 'mount', 'umount2', 'init_module', 'reboot', 'bpf', 'kexec_load', 'setns', 'unshare', 'perf_event_open', 'swapon', 'acct']) {
      expect(call(name), name).toBe(EPERM);
    }
  });

  it('takes only the usual personalities, comparing all 64 bits', () => {
    for (const p of [0x0n, 0x8n, 0x20000n, 0x20008n, 0xffffffffn]) expect(call('personality', p)).toBe(ALLOW);
    for (const p of [0x0400000n, 0x0040000n, 0x1_00000000n, 0xffffffff_ffffffffn]) expect(call('personality', p)).toBe(EPERM);
  });

  it('refuses AF_VSOCK sockets, whatever the high word says', () => {
    expect(call('socket', 40n)).toBe(EPERM);
    expect(call('socket', 0x1_00000028n)).toBe(EPERM);
    expect(call('socket', 0x1_00000002n)).toBe(ALLOW);
  });

  it('refuses namespaces in clone, and clone3 with ENOSYS', () => {
    for (const flag of [0x00020000n, 0x04000000n, 0x08000000n, 0x10000000n, 0x20000000n, 0x40000000n, 0x02000000n]) {
      expect(call('clone', flag | 17n)).toBe(EPERM);
    }
    expect(call('clone3')).toBe(ENOSYS);
  });

  it('refuses device nodes from mknod and mknodat, peapod’s own rule', () => {
    expect(call('mknod', 0n, 0o020600n, 0x103n)).toBe(EPERM);
    expect(call('mknod', 0n, 0o060600n, 0x800n)).toBe(EPERM);
    expect(call('mknodat', 0xffffff9cn, 0n, 0o060600n)).toBe(EPERM);
    expect(call('mknodat', 0xffffff9cn, 0n, 0o140600n)).toBe(ALLOW); // a socket
  });

  it('answers EPERM in the gaps of the table, ENOSYS above it', () => {
    expect(run(program, { arch: AUDIT.x86_64, nr: 400 })).toBe(EPERM); // unassigned
    expect(run(program, { arch: AUDIT.x86_64, nr: 452 })).toBe(ENOSYS); // fchmodat2, newer than the headers
    expect(run(program, { arch: AUDIT.x86_64, nr: X32 - 1 })).toBe(ENOSYS);
    expect(run(program, { arch: AUDIT.x86_64, nr: 0xffffffff })).toBe(ENOSYS);
  });

  it('covers the x32 and i386 entry points with the same rules', () => {
    expect(run(program, { arch: AUDIT.x86_64, nr: X32 + 0 })).toBe(ALLOW);
    expect(run(program, { arch: AUDIT.x86_64, nr: nr('x32', 'io_uring_setup') })).toBe(EPERM);
    expect(run(program, { arch: AUDIT.x86_64, nr: nr('x32', 'rt_sigaction') })).toBe(ALLOW);
    expect(run(program, { arch: AUDIT.x86_64, nr: nr('x32', 'mknod'), args: [0n, 0o020600n] })).toBe(EPERM);
    const i386 = (name: string, ...args: bigint[]): number => run(program, { arch: AUDIT.i386, nr: nr('i386', name), args });
    expect([i386('getpid'), i386('socketcall'), i386('arch_prctl'), i386('personality', 0xffffffffn)]).toEqual([ALLOW, ALLOW, ALLOW, ALLOW]);
    expect([i386('io_uring_setup'), i386('keyctl'), i386('userfaultfd'), i386('unshare', 0x20000n)]).toEqual([EPERM, EPERM, EPERM, EPERM]);
    expect([i386('socket', 40n), i386('clone', 0x10000000n), i386('clone3'), i386('mknodat', 0n, 0n, 0o020600n)]).toEqual([EPERM, EPERM, ENOSYS, EPERM]);
    expect(run(program, { arch: AUDIT.i386, nr: 460 })).toBe(ENOSYS);
  });

  it('refuses every call of an ABI the host does not have', () => {
    expect(run(program, { arch: AUDIT.aarch64, nr: 63 })).toBe(ENOSYS);
    expect(run(program, { arch: 0x12345678, nr: 0 })).toBe(ENOSYS);
  });

  it('opens what a capability is for, when the container holds it', () => {
    const withCaps = (caps: string[]) => compileProfile(RUNTIME_DEFAULT, x64([...DEFAULT_CAPABILITIES, ...caps]), DEVICE_NODE_RULES);
    const admin = withCaps(['SYS_ADMIN']);
    const c = (p: BpfInstruction[], name: string, ...args: bigint[]): number => run(p, { arch: AUDIT.x86_64, nr: nr('x86_64', name), args });
    expect([c(admin, 'mount'), c(admin, 'unshare', 0x20000n), c(admin, 'clone', 0x10000000n), c(admin, 'clone3'), c(admin, 'setns')]).toEqual([ALLOW, ALLOW, ALLOW, ALLOW, ALLOW]);
    expect(c(admin, 'mknod', 0n, 0o020600n)).toBe(EPERM); // peapod's rule holds for every profile
    const ptrace = withCaps(['SYS_PTRACE']);
    expect([c(ptrace, 'userfaultfd'), c(ptrace, 'kcmp'), c(ptrace, 'pidfd_getfd')]).toEqual([ALLOW, ALLOW, ALLOW]);
    expect([c(withCaps(['SYS_TIME']), 'settimeofday'), c(withCaps(['SYS_MODULE']), 'finit_module'), c(withCaps(['SYS_NICE']), 'mbind')]).toEqual([ALLOW, ALLOW, ALLOW]);
    // SYS_CHROOT is in the default set; take it away and chroot goes.
    expect(c(program, 'chroot')).toBe(ALLOW);
    expect(c(compileProfile(RUNTIME_DEFAULT, x64(DEFAULT_CAPABILITIES.filter((x) => x !== 'SYS_CHROOT'))), 'chroot')).toBe(EPERM);
  });

  it('gives ptrace only to kernels from 4.8 on, where it cannot get around seccomp', () => {
    const old = compileProfile(RUNTIME_DEFAULT, { ...x64(), kernel: [4, 4] });
    expect(run(old, { arch: AUDIT.x86_64, nr: nr('x86_64', 'ptrace') })).toBe(EPERM);
  });

  it('costs a few compares per call, not one per allowed call', () => {
    let worst = 0;
    for (const n of Object.values(SYSCALL_TABLES.x86_64)) {
      // Calls with argument rules walk their chain too; the rest is the search.
      worst = Math.max(worst, execute(program, { arch: AUDIT.x86_64, nr: n }).steps);
    }
    expect(worst).toBeLessThanOrEqual(20);
    expect(execute(program, { arch: AUDIT.x86_64, nr: nr('x86_64', 'getppid') }).steps).toBeLessThanOrEqual(12);
    expect(program.length).toBeLessThan(1500);
  });
});

describe('RuntimeDefault on arm64', () => {
  const program = compileProfile(RUNTIME_DEFAULT, { arch: 'arm64', caps: DEFAULT_CAPABILITIES, kernel: [6, 1] }, DEVICE_NODE_RULES);
  const a64 = (name: string, ...args: bigint[]): number => run(program, { arch: AUDIT.aarch64, nr: nr('aarch64', name), args });
  const arm = (name: string, ...args: bigint[]): number => run(program, { arch: AUDIT.arm, nr: nr('arm', name), args });

  it('filters aarch64 and 32-bit arm calls', () => {
    expect([a64('openat'), a64('clone', 17n), a64('io_uring_setup'), a64('mknodat', 0n, 0n, 0o060600n), a64('clone3')]).toEqual([ALLOW, ALLOW, EPERM, EPERM, ENOSYS]);
    expect([arm('open'), arm('set_tls'), arm('cacheflush'), arm('usr26'), arm('keyctl'), arm('socket', 40n)]).toEqual([ALLOW, ALLOW, ALLOW, EPERM, EPERM, EPERM]);
    expect(run(program, { arch: AUDIT.x86_64, nr: 0 })).toBe(ENOSYS);
    expect(run(program, { arch: AUDIT.arm, nr: 0x0f0000 - 1 })).toBe(ENOSYS);
  });
});

/** What a comparison means, on the argument as the ABI delivers it. */
function holds(op: SeccompOp, arg: bigint, value: bigint, valueTwo: bigint): boolean {
  switch (op) {
    case 'SCMP_CMP_EQ': return arg === value;
    case 'SCMP_CMP_NE': return arg !== value;
    case 'SCMP_CMP_LT': return arg < value;
    case 'SCMP_CMP_LE': return arg <= value;
    case 'SCMP_CMP_GT': return arg > value;
    case 'SCMP_CMP_GE': return arg >= value;
    case 'SCMP_CMP_MASKED_EQ': return (arg & value) === valueTwo;
  }
}

const profile = (syscalls: SeccompProfile['syscalls'], extra: Partial<SeccompProfile> = {}): SeccompProfile => ({ defaultAction: 'SCMP_ACT_ERRNO', syscalls, ...extra });

describe('the compiler', () => {
  // Values near the word boundaries, where a 64-bit compare done wrong shows.
  const u64 = fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.constantFrom(0n, 1n, 0xffffffffn, 0x1_00000000n, 0x1_00000001n, 0xffffffff_ffffffffn, 0xffffffff_00000000n),
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([h, l]) => (BigInt(h) << 32n) | BigInt(l)),
  );

  it('compares 64-bit arguments word by word, for every op (x86-64, aarch64)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPS), u64, u64, u64, fc.integer({ min: 0, max: 5 }), fc.constantFrom('x64', 'arm64'), (op, value, valueTwo, arg, index, arch) => {
        const p = compileProfile(profile([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index, value, valueTwo, op }] }]), { arch, caps: [], kernel: [6, 1] });
        const args = [0n, 0n, 0n, 0n, 0n, 0n];
        args[index] = arg;
        const auditArch = arch === 'x64' ? AUDIT.x86_64 : AUDIT.aarch64;
        const read = arch === 'x64' ? 0 : 63;
        expect(run(p, { arch: auditArch, nr: read, args })).toBe(holds(op, arg, value, valueTwo) ? ALLOW : EPERM);
      }),
      { numRuns: 600 },
    );
  });

  it('compares the 32-bit value of the i386 and arm ABIs (zero-extended)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPS), u64, u64, fc.bigInt({ min: 0n, max: 0xffffffffn }), fc.constantFrom('x64', 'arm64'), (op, value, valueTwo, arg, arch) => {
        const p = compileProfile(profile([{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value, valueTwo, op }] }], { architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_ARM'] }), { arch, caps: [], kernel: [6, 1] });
        const auditArch = arch === 'x64' ? AUDIT.i386 : AUDIT.arm;
        expect(run(p, { arch: auditArch, nr: 20, args: [0n, 0n, arg] })).toBe(holds(op, arg, value, valueTwo) ? ALLOW : EPERM);
      }),
      { numRuns: 400 },
    );
  });

  it('returns what each action says', () => {
    const actions: Array<[SeccompProfile['defaultAction'], number | undefined, number]> = [
      ['SCMP_ACT_ALLOW', undefined, ALLOW],
      ['SCMP_ACT_ERRNO', undefined, EPERM],
      ['SCMP_ACT_ERRNO', 13, errno(13)],
      ['SCMP_ACT_ERRNO', 0, errno(0)],
      ['SCMP_ACT_KILL', undefined, 0],
      ['SCMP_ACT_KILL_THREAD', undefined, 0],
      ['SCMP_ACT_KILL_PROCESS', undefined, 0x80000000],
      ['SCMP_ACT_TRAP', undefined, 0x00030000],
      ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
      ['SCMP_ACT_TRACE', 5, ENOSYS], // no tracer: ENOSYS, as the kernel answers without one
    ];
    for (const [action, errnoRet, expected] of actions) {
      const rule = { names: ['getppid'], action, ...(errnoRet === undefined ? {} : { errnoRet }) };
      const p = compileProfile(profile([rule], { defaultAction: 'SCMP_ACT_ALLOW' }), x64());
      expect(run(p, { arch: AUDIT.x86_64, nr: 110 }), action).toBe(expected);
      const d = compileProfile({ defaultAction: action, ...(errnoRet === undefined || action !== 'SCMP_ACT_ERRNO' ? {} : { defaultErrnoRet: errnoRet }), syscalls: [] }, x64());
      expect(run(d, { arch: AUDIT.x86_64, nr: 110 }), `default ${action}`).toBe(expected);
    }
  });

  it('keeps a deny list on every ABI: uncovered ABIs are refused, covered ones get the rules', () => {
    const deny = profile([{ names: ['mount'], action: 'SCMP_ACT_ERRNO' }], { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'] });
    const p = compileProfile(deny, x64());
    expect(run(p, { arch: AUDIT.x86_64, nr: 165 })).toBe(EPERM);
    expect(run(p, { arch: AUDIT.x86_64, nr: 0 })).toBe(ALLOW);
    expect(run(p, { arch: AUDIT.x86_64, nr: X32 + 165 })).toBe(ENOSYS); // x32 not covered: no way around
    expect(run(p, { arch: AUDIT.i386, nr: 21 })).toBe(ENOSYS);
    expect(run(p, { arch: AUDIT.x86_64, nr: 460 })).toBe(ALLOW); // an allowing default lets new calls through
    const all = compileProfile({ ...deny, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }, x64());
    expect([run(all, { arch: AUDIT.x86_64, nr: X32 + 165 }), run(all, { arch: AUDIT.i386, nr: 21 }), run(all, { arch: AUDIT.i386, nr: 20 })]).toEqual([EPERM, EPERM, ALLOW]);
  });

  it('takes the native architecture from archMap, and always covers it', () => {
    const mapped = compileProfile(RUNTIME_DEFAULT, x64());
    expect(run(mapped, { arch: AUDIT.i386, nr: 20 })).toBe(ALLOW);
    const onlyForeign = compileProfile(profile([{ names: ['getppid'], action: 'SCMP_ACT_ALLOW' }], { architectures: ['SCMP_ARCH_S390X'] }), x64());
    expect(run(onlyForeign, { arch: AUDIT.x86_64, nr: 110 })).toBe(ALLOW);
    expect(run(onlyForeign, { arch: AUDIT.i386, nr: 64 })).toBe(ENOSYS);
  });

  it('lets a conditional rule answer before an unconditional one, first match first', () => {
    const p = compileProfile(
      profile([
        { names: ['socket'], action: 'SCMP_ACT_ALLOW' },
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 17n, valueTwo: 0n, op: 'SCMP_CMP_EQ' }] },
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 98, args: [{ index: 0, value: 16n, valueTwo: 0n, op: 'SCMP_CMP_GE' }] },
      ]),
      x64(),
    );
    const socket = (family: bigint): number => run(p, { arch: AUDIT.x86_64, nr: 41, args: [family] });
    expect([socket(2n), socket(17n), socket(16n), socket(18n)]).toEqual([ALLOW, errno(97), errno(98), errno(98)]);
  });

  it('ANDs conditions on different arguments, ORs several on one argument (as runc)', () => {
    const cond = (index: number, value: bigint) => ({ index, value, valueTwo: 0n, op: 'SCMP_CMP_EQ' as const });
    const and = compileProfile(profile([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [cond(0, 1n), cond(2, 3n)] }]), x64());
    expect([run(and, { arch: AUDIT.x86_64, nr: 0, args: [1n, 0n, 3n] }), run(and, { arch: AUDIT.x86_64, nr: 0, args: [1n, 0n, 4n] })]).toEqual([ALLOW, EPERM]);
    const or = compileProfile(profile([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [cond(0, 1n), cond(0, 2n)] }]), x64());
    expect([1n, 2n, 3n].map((v) => run(or, { arch: AUDIT.x86_64, nr: 0, args: [v] }))).toEqual([ALLOW, ALLOW, EPERM]);
  });

  it('decides includes and excludes by capabilities, the host’s architecture and the kernel', () => {
    const p = (caps: string[], kernel: [number, number] = [6, 1]) =>
      compileProfile(
        profile([
          { names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_NET_ADMIN', 'SYS_TIME'] } },
          { names: ['write'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_NET_ADMIN'] } },
          { names: ['open'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
          { names: ['close'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
          { names: ['stat'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.10' } },
          { names: ['fstat'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.10' } },
        ]),
        { arch: 'x64', caps, kernel },
      );
    const answers = (prog: BpfInstruction[]) => [0, 1, 2, 3, 4, 5].map((n) => run(prog, { arch: AUDIT.x86_64, nr: n }) === ALLOW);
    expect(answers(p([]))).toEqual([false, true, false, false, true, false]);
    expect(answers(p(['NET_ADMIN', 'SYS_TIME']))).toEqual([true, false, false, false, true, false]);
    expect(answers(p(['NET_ADMIN'], [4, 19]))).toEqual([false, false, false, false, false, true]);
  });

  it('skips names an ABI does not have', () => {
    const p = compileProfile(profile([{ names: ['s390_runtime_instr', 'no_such_call', 'getpid'], action: 'SCMP_ACT_ALLOW' }]), x64());
    expect(run(p, { arch: AUDIT.x86_64, nr: 39 })).toBe(ALLOW);
  });

  it('reaches far code with long jumps: hundreds of argument rules', () => {
    const names = Object.keys(SYSCALL_TABLES.x86_64).slice(0, 300);
    const rules = names.map((name, i) => ({
      names: [name],
      action: 'SCMP_ACT_ERRNO' as const,
      errnoRet: (i % 200) + 1,
      args: [{ index: 1, value: BigInt(i) << 32n, valueTwo: 0n, op: 'SCMP_CMP_EQ' as const }],
    }));
    const p = compileProfile(profile(rules, { defaultAction: 'SCMP_ACT_ALLOW' }), x64());
    expect(p.some(([code]) => code === BPF_JA)).toBe(true);
    names.forEach((name, i) => {
      const n = nr('x86_64', name);
      expect(run(p, { arch: AUDIT.x86_64, nr: n, args: [0n, BigInt(i) << 32n] }), name).toBe(errno((i % 200) + 1));
      expect(run(p, { arch: AUDIT.x86_64, nr: n, args: [0n, (BigInt(i) << 32n) | 1n] }), name).toBe(ALLOW);
    });
  });

  it('refuses a program longer than the kernel takes, saying why', () => {
    const rules = Object.keys(SYSCALL_TABLES.x86_64).map((name) => ({
      names: [name],
      action: 'SCMP_ACT_ALLOW' as const,
      args: Array.from({ length: 6 }, (_, index) => ({ index, value: 5n, valueTwo: 0n, op: 'SCMP_CMP_LT' as const })),
    }));
    expect(() => compileProfile(profile(rules), x64())).toThrow(SeccompCompileError);
    expect(() => compileProfile(profile(rules), x64())).toThrow(/BPF instructions, more than the kernel's limit of 4096/);
  });

  it('refuses a machine it has no tables for', () => {
    expect(() => compileProfile(RUNTIME_DEFAULT, { arch: 'riscv64', caps: [], kernel: [6, 1] })).toThrow(/no system call tables for the riscv64 architecture/);
  });
});

describe('seccompFilter', () => {
  it('caches one program per profile, architecture, capabilities and kernel', () => {
    const rd: SeccompChoice = { type: 'RuntimeDefault' };
    const a = seccompFilter(rd, 'x64', DEFAULT_CAPABILITIES, [6, 1]);
    const b = seccompFilter(rd, 'x64', [...DEFAULT_CAPABILITIES].reverse(), [6, 1]);
    expect(a?.program).toBe(b?.program);
    expect(a?.profile).toBe('RuntimeDefault');
    expect(seccompFilter(rd, 'x64', [...DEFAULT_CAPABILITIES, 'SYS_ADMIN'], [6, 1])?.program).not.toBe(a?.program);
    expect(seccompFilter({ type: 'Unconfined', why: 'profile' }, 'x64', [])).toBeNull();
  });
});

describe('profiles in the OCI / Docker JSON format', () => {
  const problems = (text: string): string[] => {
    try {
      parseSeccompProfile(text, 'p.json');
    } catch (e) {
      if (e instanceof SeccompProfileError) return e.message.split('\n');
      throw e;
    }
    throw new Error('expected a SeccompProfileError');
  };

  it('reads a profile, with 64-bit values exactly', () => {
    const p = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ALLOW', comment: 'x', includes: { caps: ['CAP_SYS_ADMIN'], minKernel: '4.8' } },
          { name: 'write', action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [{ index: 1, value: 1, op: 'SCMP_CMP_EQ' }] },
        ],
      }).replace('"value":1', '"value":18446744073709551615'),
      'p.json',
    );
    expect(p.syscalls[1]).toEqual({ names: ['write'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [{ index: 1, value: 0xffffffff_ffffffffn, valueTwo: 0n, op: 'SCMP_CMP_EQ' }] });
    expect(p.syscalls[0]?.includes).toEqual({ caps: ['CAP_SYS_ADMIN'], minKernel: '4.8' });
  });

  it('reads the shapes Docker’s default.json is written in, old and new', () => {
    const docker = `{
\t"defaultAction": "SCMP_ACT_ERRNO",
\t"defaultErrnoRet": 1,
\t"archMap": [
\t\t{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
\t\t{ "architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null }
\t],
\t"syscalls": [
\t\t{ "names": ["getpid"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "", "includes": {}, "excludes": {} },
\t\t{ "names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{ "index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ" }],
\t\t  "excludes": { "caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"] } },
\t\t{ "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "args": null, "excludes": { "caps": ["CAP_SYS_ADMIN"] } },
\t\t{ "names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": { "minKernel": "4.8" } }
\t]
}`;
    const p = compileProfile(parseSeccompProfile(docker, 'default.json'), x64());
    const call = (arch: number, n: number, ...args: bigint[]): number => run(p, { arch, nr: n, args });
    expect([call(AUDIT.x86_64, 39), call(AUDIT.i386, 20), call(AUDIT.x86_64, X32 + 39), call(AUDIT.x86_64, 101)]).toEqual([ALLOW, ALLOW, ALLOW, ALLOW]);
    expect([call(AUDIT.x86_64, 56, 0x10000000n), call(AUDIT.x86_64, 56, 17n), call(AUDIT.x86_64, 435)]).toEqual([EPERM, ALLOW, ENOSYS]);
  });

  it('names each problem by file:line:column and field', () => {
    const text = `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    { "names": ["read"], "action": "SCMP_ACT_ALLOWW" },
    { "names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [{ "index": 6, "value": -1, "op": "SCMP_CMP_EQUAL" }] },
    { "names": ["close"], "action": "SCMP_ACT_NOTIFY" },
    { "action": "SCMP_ACT_ALLOW", "errnoRet": 3 },
    { "names": "open", "action": "SCMP_ACT_ALLOW", "arg": [] }
  ],
  "flags": ["SECCOMP_FILTER_FLAG_LOG"]
}`;
    expect(problems(text)).toEqual([
      'p.json:4:36: syscalls[0].action: unknown action "SCMP_ACT_ALLOWW"; did you mean "SCMP_ACT_ALLOW"? (one of SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG)',
      'p.json:5:75: syscalls[1].args[0].index: must be between 0 and 5, got 6',
      'p.json:5:87: syscalls[1].args[0].value: must be between 0 and 18446744073709551615, got -1',
      'p.json:5:97: syscalls[1].args[0].op: unknown op "SCMP_CMP_EQUAL"; did you mean "SCMP_CMP_EQ"? (one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)',
      'p.json:6:37: syscalls[2].action: SCMP_ACT_NOTIFY hands the call to a seccomp agent, and peapod has none; use SCMP_ACT_ERRNO or SCMP_ACT_ALLOW',
      'p.json:7:5: syscalls[3].names: required: the system calls this rule is for, e.g. "names": ["mount"]',
      'p.json:7:5: syscalls[3].errnoRet: only SCMP_ACT_ERRNO returns an errno; remove errnoRet or use SCMP_ACT_ERRNO (the action is SCMP_ACT_ALLOW)',
      'p.json:8:16: syscalls[4].names: expected a list, got a string',
      'p.json:8:52: syscalls[4].arg: unknown field; did you mean "args"?',
      'p.json:10:12: flags: peapod installs its filters without flags; remove SECCOMP_FILTER_FLAG_LOG',
    ]);
  });

  it('says what is wrong with the whole file', () => {
    expect(problems('{"defaultAction": "SCMP_ACT_ERRNO",')[0]).toMatch(/^p\.json:1:\d+: not valid JSON: /);
    expect(problems('[]')).toEqual(['p.json:1:1: (top level): expected an object, got a list']);
    expect(problems('{"syscalls": []}')).toEqual(['p.json:1:1: defaultAction: required field is missing']);
    expect(problems('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [], "listenerPath": "/x"}')).toEqual([
      'p.json:1:107: listenerPath: peapod has no seccomp agent to notify; remove listenerPath (and any SCMP_ACT_NOTIFY)',
      'p.json:1:1: archMap: set either architectures or archMap, not both',
    ]);
    expect(problems('{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000, "architectures": ["SCMP_ARCH_X86_65"]}')).toEqual([
      'p.json:1:56: defaultErrnoRet: must be between 0 and 4095, got 5000',
      'p.json:1:80: architectures[0]: unknown architecture "SCMP_ARCH_X86_65"; did you mean "SCMP_ARCH_X86_64"? (one of ' +
        'SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_LOONGARCH64, SCMP_ARCH_M68K, SCMP_ARCH_MIPS, ' +
        'SCMP_ARCH_MIPS64, SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64, ' +
        'SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X, SCMP_ARCH_PARISC, SCMP_ARCH_PARISC64, SCMP_ARCH_RISCV64, SCMP_ARCH_SH, SCMP_ARCH_SHEB)',
    ]);
  });
});
