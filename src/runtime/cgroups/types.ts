// One interface over cgroup v1 and v2: the runtime asks for a cgroup per
// pod and per container, sets limits, reads usage and OOM kills, and kills
// everything inside one. Which driver is chosen depends on the host.

export interface Limits {
  memoryBytes?: number;
  /** CPU limit in millicores: quota = millis/1000 of each period. */
  cpuMillis?: number;
  pids?: number;
}

export interface Usage {
  memoryBytes: number;
  /** Total CPU time used, nanoseconds. */
  cpuNanos: number;
}

export interface Cgroup {
  /** The path below the driver's root in every hierarchy, e.g. `peapod/pod<uid>/web`. */
  readonly path: string;
  /** The cgroup.procs files a process writes "0" into to join (one per hierarchy). */
  readonly procsFiles: string[];
  setLimits(limits: Limits): void;
  usage(): Usage;
  /** How many processes the kernel's OOM killer has killed in this cgroup. */
  oomKills(): number;
  /**
   * Whether the kernel's OOM killer ends every process of the cgroup with
   * the one it picks (v2's memory.oom.group). False when it cannot be set:
   * v1 has no such switch (watchOom does it there), nor a v2 tree without
   * the memory controller.
   */
  setOomGroup?(on: boolean): boolean;
  /**
   * v1: calls `onKill` each time the kernel's OOM killer has killed in this
   * cgroup (told by its memory.oom_control notification, counted by its
   * oom_kill). With `groupKill` the rest of the cgroup is frozen at the
   * notification and killed before `onKill`, as v2's memory.oom.group would.
   * Returns what stops watching; undefined when it cannot watch.
   */
  watchOom?(groupKill: boolean, onKill: () => void): OomWatch | undefined;
  /**
   * Frozen (or freezing): this process is killing everything in it. Nothing
   * may be spawned into it meanwhile: a vfork-style child that joins a
   * frozen cgroup stops before its exec, and with it the thread that would
   * thaw the cgroup.
   */
  frozen?(): boolean;
  pids(): number[];
  /** Kills every process in the cgroup, so none can escape by forking meanwhile. */
  killAll(): Promise<void>;
  /** Removes the cgroup (after its processes are gone). */
  remove(): Promise<void>;
  /** The cgroups directly below it (v1: in any hierarchy). */
  children(): Cgroup[];
  /** Removes the parent (`peapod`) when no pod is left under it; busy is fine. */
  removeParentIfEmpty?(): Promise<void>;
}

export interface OomWatch {
  /** Stops watching; resolves once an OOM being handled (its freeze, its kill) is done. */
  stop(): Promise<void>;
}

export interface CgroupDriver {
  readonly kind: 'v1' | 'v2';
  /** Creates (or adopts) the cgroup at `path`, parents included. */
  create(path: string): Cgroup;
  /** A handle on an existing cgroup (for reclaiming what a dead supervisor left). */
  open(path: string): Cgroup;
  /** Whether a cgroup exists at `path` in any hierarchy. */
  exists(path: string): boolean;
}

export class CgroupError extends Error {
  override name = 'CgroupError';
}
