// Plans are data: what a pod's processes will do to the kernel, asserted
// without root and without running anything.
import { describe, expect, it } from 'vitest';
import { commandOf, containerPlan, type ContainerInputs } from './old-inputs.js';
import { sandboxPlan } from '../../src/plan/sandbox.js';
import { execCandidates } from '../../src/plan/command.js';
import { expandReferences } from '../../src/kubelet/expansion.js';
import { scopedJoin, ancestorsWithin, type FsView } from '../../src/plan/scoped-path.js';
import type { Step } from '../../src/plan/types.js';

/** An image tree as a map of path -> symlink target (or null for a plain entry). */
function fakeFs(entries: Record<string, string | null>): FsView {
  return {
    readlink: (p) => entries[p] ?? null,
    exists: (p) => p in entries,
    isFile: (p) => p in entries && entries[p] === null,
  };
}

const image = { rootfs: '/img/rootfs', config: { entrypoint: [], cmd: ['sh'], env: ['PATH=/usr/bin:/bin'], workingDir: '/' } };

function inputs(over: Partial<ContainerInputs> = {}): ContainerInputs {
  return {
    container: { name: 'web', image: 'busybox', command: ['httpd', '-f'] },
    image,
    hostname: 'pod1',
    sandboxPid: 4242,
    dirs: { rootfs: '/d/c/rootfs', upper: '/d/c/upper', work: '/d/c/work' },
    pod: { shm: '/d/shm', hosts: '/d/etc/hosts', hostname: '/d/etc/hostname', resolvConf: '/d/etc/resolv.conf' },
    volumes: new Map(),
    fs: fakeFs({}),
    ...over,
  };
}

const ops = (steps: Step[]): string[] => steps.map((s) => s.op);

describe('sandbox plan', () => {
  it('creates pid, net, ipc and uts namespaces (and a mount namespace of its own), names the host, brings lo up, and keeps signals blocked for pause', () => {
    const plan = sandboxPlan({ hostname: 'mypod', pauseBinary: '/opt/pause' });
    expect(plan.newNamespaces.sort()).toEqual(['ipc', 'mnt', 'net', 'pid', 'uts']);
    expect(plan.keepSignalsBlocked).toBe(true);
    expect(plan.steps).toContainEqual({ op: 'sethostname', name: 'mypod' });
    expect(plan.steps).toContainEqual({ op: 'loopback_up' });
    expect(plan.steps).toContainEqual({ op: 'pdeathsig', signal: 'SIGKILL', procFd: 100 });
    expect(plan.steps.at(-1)).toMatchObject({ op: 'exec', candidates: [], argv: ['/pause'], env: [] });
  });
});

/** The step that opens a mount point, and the copy attached onto it. */
function attached(s: Step[], path: string): { point: Extract<Step, { op: 'open_beneath' }>; tree: Extract<Step, { op: 'open_tree' }> } {
  const point = s.find((x) => x.op === 'open_beneath' && x.path === path) as Extract<Step, { op: 'open_beneath' }>;
  expect(point, `a mount point at ${path}`).toBeDefined();
  const move = s.find((x) => x.op === 'move_mount' && x.toFd === point.fd) as Extract<Step, { op: 'move_mount' }>;
  const tree = s.find((x) => x.op === 'open_tree' && x.fd === move.fd) as Extract<Step, { op: 'open_tree' }>;
  return { point, tree };
}

describe('container plan', () => {
  it('joins pause’s namespaces: net/ipc/uts by setns, pid by a child born there after pivot_root, and a new mount namespace', () => {
    const plan = containerPlan(inputs());
    expect(plan.newNamespaces).toEqual(['mnt']);
    const setns = plan.steps.filter((s) => s.op === 'setns');
    expect(setns).toEqual([
      { op: 'setns', path: '/proc/4242/ns/net', ns: 'net' },
      { op: 'setns', path: '/proc/4242/ns/ipc', ns: 'ipc' },
      { op: 'setns', path: '/proc/4242/ns/uts', ns: 'uts' },
    ]);
    const pid = plan.steps.find((s) => s.op === 'open' && s.path === '/proc/4242/ns/pid') as Extract<Step, { op: 'open' }>;
    const enter = plan.steps.findIndex((s) => s.op === 'enter_pid_ns' && s.fd === pid.fd);
    expect(enter).toBeGreaterThan(plan.steps.findIndex((s) => s.op === 'pivot_root'));
  });

  it('makes / private, copies the host sources, mounts the overlay, pivots, then /sys, /dev, the mounts, the PID namespace, /proc, exec', () => {
    const plan = containerPlan(inputs());
    const s = plan.steps;
    const idx = (pred: (x: Step) => boolean): number => s.findIndex(pred);
    const priv = idx((x) => x.op === 'mount' && x.target === '/' && x.flags.includes('private'));
    const copies = idx((x) => x.op === 'open_tree');
    const overlay = idx((x) => x.op === 'mount' && x.fstype === 'overlay');
    const pivot = idx((x) => x.op === 'pivot_root');
    const sys = idx((x) => x.op === 'mount' && x.fstype === 'sysfs');
    const enter = idx((x) => x.op === 'enter_pid_ns');
    const proc = idx((x) => x.op === 'mount' && x.fstype === 'proc');
    expect([priv, copies, overlay, pivot, sys, enter, proc]).toEqual([...[priv, copies, overlay, pivot, sys, enter, proc]].sort((a, b) => a - b));
    expect(priv).toBeGreaterThan(-1);
    expect(s[overlay]).toMatchObject({ target: '/d/c/rootfs', data: 'lowerdir=/img/rootfs,upperdir=/d/c/upper,workdir=/d/c/work' });
    expect(s[sys]).toMatchObject({ target: '/sys', flags: expect.arrayContaining(['rdonly']) });
    expect(s[proc]).toMatchObject({ target: '/proc' });
    expect(s.at(-1)).toMatchObject({ op: 'exec', argv: ['pause', '--exec', '99', '2', '/usr/bin/httpd', '/bin/httpd', 'httpd', '-f'], env: ['PATH=/usr/bin:/bin', 'HOSTNAME=pod1'], statusFd: 99, what: 'httpd' });
    expect(ops(s).slice(-4)).toEqual(['chdir', 'pdeathsig', 'setsid', 'exec']);
  });

  it('builds a minimal /dev: the six devices, pts with its own ptmx, and the pod’s shared /dev/shm', () => {
    const s = containerPlan(inputs()).steps;
    const nodes = s.filter((x): x is Extract<Step, { op: 'mknod' }> => x.op === 'mknod').map((x) => [x.path, x.major, x.minor]);
    expect(nodes).toEqual([['/dev/null', 1, 3], ['/dev/zero', 1, 5], ['/dev/full', 1, 7], ['/dev/random', 1, 8], ['/dev/urandom', 1, 9], ['/dev/tty', 5, 0]]);
    expect(s).toContainEqual(expect.objectContaining({ op: 'mount', fstype: 'devpts', target: '/dev/pts', data: expect.stringContaining('newinstance') }));
    expect(s).toContainEqual({ op: 'symlink', target: 'pts/ptmx', path: '/dev/ptmx' });
    const shm = attached(s, 'dev/shm');
    expect(shm.tree.path).toBe('/d/shm');
    expect(shm.point).toMatchObject({ base: '/', inRoot: true, make: 'dirs' });
    // Devices are made with umask 0, and the container gets the usual 022.
    // (The first umask 0 is for subPath directories, made with the volume's mode.)
    const umasks = s.filter((x) => x.op === 'umask');
    expect(umasks).toEqual([{ op: 'umask', mask: 0 }, { op: 'umask', mask: 0 }, { op: 'umask', mask: 0o022 }]);
  });

  it('mounts the pod’s /etc/hosts, /etc/hostname and /etc/resolv.conf by fd, copied before pivot_root', () => {
    const s = containerPlan(inputs());
    const pivot = s.steps.findIndex((x) => x.op === 'pivot_root');
    for (const f of ['hosts', 'hostname', 'resolv.conf']) {
      const { point, tree } = attached(s.steps, `etc/${f}`);
      expect(tree.path).toBe(`/d/etc/${f}`);
      expect(s.steps.indexOf(tree)).toBeLessThan(pivot);
      expect(s.steps.indexOf(point)).toBeGreaterThan(pivot);
      expect(point).toMatchObject({ base: '/', inRoot: true, make: 'file' });
    }
  });

  it('mounts volumes parents first; a nested one beneath its parent’s mount (by fd), read-only by mount_setattr', () => {
    const plan = containerPlan(
      inputs({
        container: {
          name: 'c', image: 'busybox', command: ['true'],
          volumeMounts: [{ name: 'inner', mountPath: '/data/inner', readOnly: true }, { name: 'outer', mountPath: '/data' }],
        },
        volumes: new Map([
          ['outer', { hostPath: '/host/outer', kind: 'dir' as const }],
          ['inner', { hostPath: '/host/inner.txt', kind: 'file' as const }],
        ]),
      }),
    );
    const outer = attached(plan.steps, 'data');
    expect(outer.tree.path).toBe('/host/outer');
    expect(outer.point).toMatchObject({ base: '/', inRoot: true, make: 'dirs' });
    const inner = attached(plan.steps, 'inner');
    expect(inner.tree.path).toBe('/host/inner.txt');
    expect(inner.point).toMatchObject({ base: '/data', baseFd: outer.tree.fd, make: 'file' });
    expect(inner.point.inRoot).toBeUndefined();
    expect(plan.steps.indexOf(inner.point)).toBeGreaterThan(plan.steps.findIndex((x) => x.op === 'move_mount' && x.fd === outer.tree.fd));
    expect(plan.steps).toContainEqual({ op: 'mount_setattr', fd: inner.tree.fd, readOnly: true });
    expect(plan.steps).not.toContainEqual(expect.objectContaining({ op: 'mount_setattr', fd: outer.tree.fd, readOnly: true }));
  });

  it('resolves an image symlink on the way to a mount point inside the root, never on the host', () => {
    // The image has /data -> /etc and /evil -> ../../../../host: both stay inside.
    // Links are read in the image (the container's rootfs is empty on the host).
    const fs = fakeFs({ '/img/rootfs/data': '/etc', '/img/rootfs/evil': '../../../../host' });
    const plan = containerPlan(
      inputs({
        fs,
        container: { name: 'c', image: 'busybox', command: ['true'], volumeMounts: [{ name: 'v', mountPath: '/data' }, { name: 'w', mountPath: '/evil/x' }] },
        volumes: new Map([['v', { hostPath: '/host/v', kind: 'dir' as const }], ['w', { hostPath: '/host/w', kind: 'dir' as const }]]),
      }),
    );
    expect(attached(plan.steps, 'etc').tree.path).toBe('/host/v');
    expect(attached(plan.steps, 'host/x').tree.path).toBe('/host/w');
  });
});

describe('command resolution (Kubernetes rules)', () => {
  const img = { entrypoint: ['/entry'], cmd: ['--default'], env: ['PATH=/bin', 'A=image'], workingDir: '/srv' };
  it('command replaces entrypoint and cmd; args alone replace cmd only', () => {
    expect(commandOf(img, { name: 'c', image: 'i', command: ['run'], args: ['x'] }, 'h').argv).toEqual(['run', 'x']);
    expect(commandOf(img, { name: 'c', image: 'i', command: ['run'] }, 'h').argv).toEqual(['run']);
    expect(commandOf(img, { name: 'c', image: 'i', args: ['--mine'] }, 'h').argv).toEqual(['/entry', '--mine']);
    expect(commandOf(img, { name: 'c', image: 'i' }, 'h').argv).toEqual(['/entry', '--default']);
  });
  it('takes env from the image, then the container, and expands $(VAR)', () => {
    const r = commandOf(img, { name: 'c', image: 'i', command: ['echo', '$(GREETING)', '$$(A)', '$(MISSING)'], env: [{ name: 'A', value: 'pod' }, { name: 'GREETING', value: 'hi-$(A)' }] }, 'h');
    expect(r.env).toEqual(['PATH=/bin', 'A=pod', 'HOSTNAME=h', 'GREETING=hi-pod']);
    expect(r.argv).toEqual(['echo', 'hi-pod', '$(A)', '$(MISSING)']);
  });
  it('falls back to the image working directory, and searches PATH', () => {
    const r = commandOf(img, { name: 'c', image: 'i', command: ['tool'] }, 'h');
    expect(r.workingDir).toBe('/srv');
    expect(r.candidates).toEqual(['/bin/tool']);
    expect(execCandidates('./x', '/bin')).toEqual(['./x']);
  });
  it('refuses a container with nothing to run', () => {
    expect(() => commandOf({ ...img, entrypoint: [], cmd: [] }, { name: 'c', image: 'i' }, 'h')).toThrow(/no command to run/);
  });
  it('expandReferences leaves unknown references alone', () => {
    expect(expandReferences('$(X)-$(Y)', new Map([['X', '1']]))).toBe('1-$(Y)');
  });
});

describe('scopedJoin', () => {
  it('resolves relative and absolute links inside the root and clamps ..', () => {
    const fs = fakeFs({ '/r/a': 'b/c', '/r/b/c': '/x', '/r/up': '../../..' });
    expect(scopedJoin('/r', '/a/file', fs)).toBe('/r/x/file');
    expect(scopedJoin('/r', '/up/etc', fs)).toBe('/r/etc');
    expect(scopedJoin('/r', '/../../etc/passwd', fs)).toBe('/r/etc/passwd');
  });
  it('gives up on link loops', () => {
    const fs = fakeFs({ '/r/a': '/b', '/r/b': '/a' });
    expect(() => scopedJoin('/r', '/a', fs)).toThrow(/too many levels/);
  });
  it('lists ancestors inside the root only', () => {
    expect(ancestorsWithin('/r', '/r/a/b/c')).toEqual(['/r/a', '/r/a/b']);
    expect(ancestorsWithin('/r', '/elsewhere')).toEqual([]);
  });
});
