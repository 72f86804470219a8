// Where a sandbox's cgroups are, and what a CRI resources message sets in
// one: `<cgroupParent>/pod<uid>` for the pod, `pause` and one per container
// name below it (a container keeps its cgroup across attempts). Pure, so
// `explain` shows the very cgroup.procs files a process will join.
import type { LinuxContainerResources, PodSandboxConfig } from '../api.js';
import type { Limits } from './types.js';

const CFS_PERIOD_US = 100_000;

export function podCgroupPath(config: PodSandboxConfig): string {
  return `${config.linux.cgroupParent}/pod${config.metadata.uid}`;
}

export function pauseCgroupPath(config: PodSandboxConfig): string {
  return `${podCgroupPath(config)}/pause`;
}

export function containerCgroupPath(config: PodSandboxConfig, name: string): string {
  return `${podCgroupPath(config)}/${name}`;
}

/** The limits a LinuxContainerResources asks for, in the drivers' units. */
export function limitsOf(resources: LinuxContainerResources): Limits {
  const { memoryLimitInBytes, cpuQuota, cpuPeriod, pidsLimit } = resources;
  return {
    ...(memoryLimitInBytes !== undefined ? { memoryBytes: memoryLimitInBytes } : {}),
    ...(cpuQuota !== undefined ? { cpuMillis: Math.round((cpuQuota * 1000) / (cpuPeriod ?? CFS_PERIOD_US)) } : {}),
    ...(pidsLimit !== undefined ? { pids: pidsLimit } : {}),
  };
}
