// Linux capabilities by name, and the sets a container gets: the default that
// containerd gives a Kubernetes container, then securityContext.capabilities
// applied the way containerd applies it (ALL first, then single names).
//
// Numbers are the kernel's (include/uapi/linux/capability.h), a stable ABI.

export const CAPABILITIES = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  IPC_OWNER: 15,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_PACCT: 20,
  SYS_ADMIN: 21,
  SYS_BOOT: 22,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  SYS_TIME: 25,
  SYS_TTY_CONFIG: 26,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30,
  SETFCAP: 31,
  MAC_OVERRIDE: 32,
  MAC_ADMIN: 33,
  SYSLOG: 34,
  WAKE_ALARM: 35,
  BLOCK_SUSPEND: 36,
  AUDIT_READ: 37,
  PERFMON: 38,
  BPF: 39,
  CHECKPOINT_RESTORE: 40,
} as const;

export type Capability = keyof typeof CAPABILITIES;

export const ALL_CAPABILITIES = Object.keys(CAPABILITIES) as Capability[];

/**
 * containerd's default for a Kubernetes container (oci.defaultUnixCaps),
 * the same 14 as Docker's: CapBnd/CapPrm/CapEff 00000000a80425fb.
 */
export const DEFAULT_CAPABILITIES: readonly Capability[] = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

export class CapabilityError extends Error {
  override name = 'CapabilityError';
}

/** "NET_RAW", "CAP_NET_RAW", "net_raw" -> "NET_RAW"; "ALL" stays "ALL"; anything else throws. */
export function normalizeCapability(name: string, where: string): Capability | 'ALL' {
  const upper = name.trim().toUpperCase();
  const bare = upper.startsWith('CAP_') ? upper.slice(4) : upper;
  if (bare === 'ALL') return 'ALL';
  if (Object.hasOwn(CAPABILITIES, bare)) return bare as Capability;
  throw new CapabilityError(
    `${where}: unknown capability ${JSON.stringify(name)}; use a name such as NET_BIND_SERVICE or NET_ADMIN (without CAP_), or ALL`,
  );
}

export interface CapabilityRequest {
  add?: readonly string[] | undefined;
  drop?: readonly string[] | undefined;
}

/** What a container's process may hold, and what was explicitly added. */
export interface CapabilitySets {
  /** Bounding, permitted and effective (for uid 0) sets, in kernel order. */
  kept: Capability[];
  /** Named in `add` (never from ALL): made ambient for a non-root user. */
  added: Capability[];
}

const byNumber = (a: Capability, b: Capability): number => CAPABILITIES[a] - CAPABILITIES[b];

/**
 * containerd's order: add ALL, then drop ALL, then single adds, then single
 * drops; so `drop: [ALL], add: [NET_BIND_SERVICE]` keeps exactly one.
 * Privileged containers start from every capability.
 */
export function capabilitySets(request: CapabilityRequest | undefined, privileged: boolean, where: string): CapabilitySets {
  const add = (request?.add ?? []).map((n, i) => normalizeCapability(n, `${where}.add[${i}]`));
  const drop = (request?.drop ?? []).map((n, i) => normalizeCapability(n, `${where}.drop[${i}]`));
  const set = new Set<Capability>(privileged ? ALL_CAPABILITIES : DEFAULT_CAPABILITIES);
  if (add.includes('ALL')) for (const c of ALL_CAPABILITIES) set.add(c);
  if (drop.includes('ALL')) set.clear();
  const added: Capability[] = [];
  for (const c of add) {
    if (c === 'ALL') continue;
    set.add(c);
    added.push(c);
  }
  for (const c of drop) if (c !== 'ALL') set.delete(c);
  return {
    kept: [...set].sort(byNumber),
    added: [...new Set(added)].filter((c) => set.has(c)).sort(byNumber),
  };
}

/** The bit mask of a set, as /proc/PID/status prints it (CapEff: 00000000a80425fb). */
export function capabilityMask(caps: readonly Capability[]): bigint {
  return caps.reduce((m, c) => m | (1n << BigInt(CAPABILITIES[c])), 0n);
}
