// The system call ABIs a peapod host accepts, as a filter sees them: the
// AUDIT_ARCH_* value the kernel puts in seccomp_data.arch, and the numbers.
// An x86-64 kernel also takes i386 calls (int 0x80) and x32 calls (numbers
// with bit 30 set, under the same AUDIT_ARCH_X86_64); an arm64 kernel takes
// 32-bit arm calls. A filter that forgot one of them would let a program
// walk around it by calling in through the other door.
import { SYSCALL_TABLES } from './syscalls.js';

export type AbiName = keyof typeof SYSCALL_TABLES;

export interface Abi {
  name: AbiName;
  /** libseccomp's / the OCI spec's name for it. */
  scmp: string;
  /** linux/audit.h AUDIT_ARCH_*. */
  auditArch: number;
  /** Arguments are 64-bit registers; else 32-bit values (the high word is not compared). */
  wide: boolean;
  table: Readonly<Record<string, number>>;
}

export const X32_SYSCALL_BIT = 0x40000000;

export const ABIS: Readonly<Record<AbiName, Abi>> = {
  x86_64: { name: 'x86_64', scmp: 'SCMP_ARCH_X86_64', auditArch: 0xc000003e, wide: true, table: SYSCALL_TABLES.x86_64 },
  x32: { name: 'x32', scmp: 'SCMP_ARCH_X32', auditArch: 0xc000003e, wide: true, table: SYSCALL_TABLES.x32 },
  i386: { name: 'i386', scmp: 'SCMP_ARCH_X86', auditArch: 0x40000003, wide: false, table: SYSCALL_TABLES.i386 },
  aarch64: { name: 'aarch64', scmp: 'SCMP_ARCH_AARCH64', auditArch: 0xc00000b7, wide: true, table: SYSCALL_TABLES.aarch64 },
  arm: { name: 'arm', scmp: 'SCMP_ARCH_ARM', auditArch: 0x40000028, wide: false, table: SYSCALL_TABLES.arm },
};

export interface Machine {
  /** The native ABI first. */
  abis: readonly AbiName[];
  /** The architecture's name in Docker profiles' includes/excludes.arches (Go's GOARCH). */
  goarch: string;
}

/** By Node's process.arch. */
export const MACHINES: Readonly<Record<string, Machine>> = {
  x64: { abis: ['x86_64', 'x32', 'i386'], goarch: 'amd64' },
  arm64: { abis: ['aarch64', 'arm'], goarch: 'arm64' },
};

/** Every architecture libseccomp names; the ones without an ABI here cannot occur on a peapod host. */
export const SCMP_ARCHES = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
] as const;

export function abiByScmp(scmp: string): Abi | undefined {
  return Object.values(ABIS).find((a) => a.scmp === scmp);
}

/**
 * The highest number of the ABI's ordinary calls (ARM's private ones, at
 * 0x0f0000 and up, left out): a number above it is newer than the table.
 */
export function lastKnown(abi: Abi): number {
  let max = 0;
  for (const nr of Object.values(abi.table)) if (nr < 0x0f0000 || abi.name === 'x32') max = Math.max(max, nr);
  return max;
}
