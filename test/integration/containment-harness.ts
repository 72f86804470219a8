// What the containment and volume tests share: the probe (a static C program
// that makes one escape attempt per command and prints its errno), a pod that
// runs it to the end, and the host facts that must not change.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Container, Pod, Volume } from '../../src/manifest/types.js';
import { pod } from './helpers.js';

export interface Probe {
  dir: string;
  /** The probe inside a container that mounts `volume` at /probe. */
  bin: string;
  volume: Volume;
  mount: { name: string; mountPath: string; readOnly: boolean };
  cleanup(): void;
}

/** Builds a probe (static, so any image runs it) into a host directory. */
export function buildProbe(file = 'containment-probe.c'): Probe {
  const dir = mkdtempSync('/tmp/peapod-probe-');
  chmodSync(dir, 0o755);
  const source = join(import.meta.dirname, file);
  execFileSync('gcc', ['-static', '-O1', '-Wall', '-Wextra', '-Werror', '-o', join(dir, 'probe'), source]);
  return {
    dir,
    bin: '/probe/probe',
    volume: { name: 'probe', hostPath: { path: dir, type: 'Directory' } },
    mount: { name: 'probe', mountPath: '/probe', readOnly: true },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A container that runs probe commands (separated by `--` in `commands`). */
export function probing(probe: Probe, name: string, commands: string[][], extra: Partial<Container> = {}): Container {
  const argv = commands.flatMap((c, i) => (i === 0 ? c : ['--', ...c]));
  return {
    name,
    image: 'busybox',
    command: [probe.bin, ...argv],
    ...extra,
    volumeMounts: [probe.mount, ...(extra.volumeMounts ?? [])],
  };
}

/** A pod whose containers carry the probe volume. */
export function probePod(probe: Probe, name: string, containers: Container[], volumes: Volume[] = [], extra: Partial<Pod['spec']> = {}): Pod {
  return pod(name, containers, [probe.volume, ...volumes], extra);
}

/**
 * The host's mount table, leaving out what pods of any peapod run (this one,
 * or another that shares the machine) mount and unmount under /tmp and the
 * state roots: they come and go while this test runs.
 */
export function hostMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length > 4 && !(f[4] as string).startsWith('/tmp/') && !(f[4] as string).includes('peapod'))
    .map((f) => `${f[4]} ${f[8] ?? ''}`)
    .sort();
}

/** The host facts an escape would change: mounts, name, loaded modules. */
export interface HostSnapshot {
  mounts: string[];
  hostname: string;
  modules: string;
}

export function snapshotHost(): HostSnapshot {
  const modules = existsSync('/proc/modules') ? readFileSync('/proc/modules', 'utf8').split('\n').map((l) => l.split(' ')[0]).sort().join(',') : '';
  return { mounts: hostMounts(), hostname: hostname(), modules };
}

export function expectHostUnchanged(before: HostSnapshot): void {
  const after = snapshotHost();
  expect(after.hostname, 'the host name').toBe(before.hostname);
  expect(after.modules, 'the loaded modules').toBe(before.modules);
  expect(after.mounts, 'the host mount table').toEqual(before.mounts);
}

/** The Cap*, NoNewPrivs and Seccomp lines of /proc/PID/status, as a record. */
export function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) out[m[1] as string] = (m[2] as string).trim();
  }
  return out;
}
