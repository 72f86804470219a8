// Plans are data: what a pod's processes will do to the kernel, asserted
// without root and without running anything.
import { describe, expect, it } from 'vitest';
import { containerPlan, type ContainerInputs } from '../../src/plan/container.js';
import { sandboxPlan } from '../../src/plan/sandbox.js';
import { expandReferences, resolveCommand, execCandidates } from '../../src/plan/command.js';
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
    expect(plan.steps).toContainEqual({ op: 'pdeathsig', signal: 'SIGKILL' });
    expect(plan.steps.at(-1)).toEqual({ op: 'exec', candidates: ['/pause'], argv: ['/pause'], env: [] });
  });
});

describe('container plan', () => {
  it('joins pause’s namespaces: pid by the parent before clone, net/ipc/uts by setns, and a new mount namespace', () => {
    const plan = containerPlan(inputs());
    expect(plan.joinPidNamespace).toBe('/proc/4242/ns/pid');
    expect(plan.newNamespaces).toEqual(['mnt']);
    const setns = plan.steps.filter((s) => s.op === 'setns');
    expect(setns).toEqual([
      { op: 'setns', path: '/proc/4242/ns/net', ns: 'net' },
      { op: 'setns', path: '/proc/4242/ns/ipc', ns: 'ipc' },
      { op: 'setns', path: '/proc/4242/ns/uts', ns: 'uts' },
    ]);
  });

  it('makes / private before mounting, then overlay, /proc, /sys read-only, /dev, pivot_root, exec, in that order', () => {
    const plan = containerPlan(inputs());
    const s = plan.steps;
    const idx = (pred: (x: Step) => boolean): number => s.findIndex(pred);
    const priv = idx((x) => x.op === 'mount' && x.target === '/' && x.flags.includes('private'));
    const overlay = idx((x) => x.op === 'mount' && x.fstype === 'overlay');
    const proc = idx((x) => x.op === 'mount' && x.fstype === 'proc');
    const pivot = idx((x) => x.op === 'pivot_root');
    expect(priv).toBeGreaterThan(-1);
    expect(priv).toBeLessThan(overlay);
    expect(overlay).toBeLessThan(proc);
    expect(proc).toBeLessThan(pivot);
    expect(s[overlay]).toMatchObject({ target: '/d/c/rootfs', data: 'lowerdir=/img/rootfs,upperdir=/d/c/upper,workdir=/d/c/work' });
    expect(s.find((x) => x.op === 'mount' && x.fstype === 'sysfs')).toMatchObject({ flags: expect.arrayContaining(['rdonly']) });
    expect(s.at(-1)).toEqual({ op: 'exec', candidates: ['/usr/bin/httpd', '/bin/httpd'], argv: ['httpd', '-f'], env: ['PATH=/usr/bin:/bin', 'HOSTNAME=pod1'] });
    expect(ops(s).slice(-4)).toEqual(['chdir', 'pdeathsig', 'setsid', 'exec']);
  });

  it('builds a minimal /dev: the six devices, pts with its own ptmx, and the pod’s shared /dev/shm', () => {
    const s = containerPlan(inputs()).steps;
    const nodes = s.filter((x): x is Extract<Step, { op: 'mknod' }> => x.op === 'mknod').map((x) => [x.path.replace('/d/c/rootfs/dev/', ''), x.major, x.minor]);
    expect(nodes).toEqual([['null', 1, 3], ['zero', 1, 5], ['full', 1, 7], ['random', 1, 8], ['urandom', 1, 9], ['tty', 5, 0]]);
    expect(s).toContainEqual(expect.objectContaining({ op: 'mount', fstype: 'devpts', data: expect.stringContaining('newinstance') }));
    expect(s).toContainEqual({ op: 'symlink', target: 'pts/ptmx', path: '/d/c/rootfs/dev/ptmx' });
    expect(s).toContainEqual({ op: 'mount', source: '/d/shm', target: '/d/c/rootfs/dev/shm', flags: ['bind'] });
    // Devices are made with umask 0, and the container gets the usual 022.
    // (The first umask 0 is for subPath directories, made with the volume's mode.)
    const umasks = s.filter((x) => x.op === 'umask');
    expect(umasks).toEqual([{ op: 'umask', mask: 0 }, { op: 'umask', mask: 0 }, { op: 'umask', mask: 0o022 }]);
  });

  it('bind-mounts the pod’s /etc/hosts, /etc/hostname and /etc/resolv.conf', () => {
    const s = containerPlan(inputs()).steps;
    for (const f of ['hosts', 'hostname', 'resolv.conf']) {
      expect(s).toContainEqual({ op: 'mount', source: `/d/etc/${f}`, target: `/d/c/rootfs/etc/${f}`, flags: ['bind'] });
    }
  });

  it('mounts volumes parents first, read-only by a remount, creating their mount points', () => {
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
    const at = plan.steps.findIndex((x) => x.op === 'mount' && x.source === '/host/outer');
    expect(plan.steps[at]).toEqual({ op: 'mount', source: '/host/outer', target: '/d/c/rootfs/data', flags: ['bind', 'rec'] });
    // The nested one: opened beneath the outer volume once it is mounted, the
    // file made with O_NOFOLLOW there, and the mount onto the opened fd.
    const [open, touch, bind, ro] = plan.steps.slice(at + 1, at + 5) as Step[];
    expect(open).toMatchObject({ op: 'open_beneath', base: '/d/c/rootfs/data', path: '.', mkdirMode: 0o755 });
    const fd = (open as Extract<Step, { op: 'open_beneath' }>).fd;
    expect(touch).toEqual({ op: 'touch', path: `/proc/self/fd/${fd}/inner`, mode: 0o644 });
    expect(bind).toEqual({ op: 'mount', source: '/host/inner.txt', target: `/proc/self/fd/${fd}/inner`, flags: ['bind', 'rec'] });
    expect(ro).toEqual({ op: 'remount_ro', target: '/d/c/rootfs/data/inner' });
  });

  it('never lets an image symlink point a mount outside the root', () => {
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
    const targets = plan.steps.filter((x): x is Extract<Step, { op: 'mount' }> => x.op === 'mount' && x.source.startsWith('/host/')).map((x) => x.target);
    expect(targets).toEqual(['/d/c/rootfs/etc', '/d/c/rootfs/host/x']);
  });
});

describe('command resolution (Kubernetes rules)', () => {
  const img = { entrypoint: ['/entry'], cmd: ['--default'], env: ['PATH=/bin', 'A=image'], workingDir: '/srv' };
  it('command replaces entrypoint and cmd; args alone replace cmd only', () => {
    expect(resolveCommand(img, { name: 'c', image: 'i', command: ['run'], args: ['x'] }, 'h').argv).toEqual(['run', 'x']);
    expect(resolveCommand(img, { name: 'c', image: 'i', command: ['run'] }, 'h').argv).toEqual(['run']);
    expect(resolveCommand(img, { name: 'c', image: 'i', args: ['--mine'] }, 'h').argv).toEqual(['/entry', '--mine']);
    expect(resolveCommand(img, { name: 'c', image: 'i' }, 'h').argv).toEqual(['/entry', '--default']);
  });
  it('takes env from the image, then the container, and expands $(VAR)', () => {
    const r = resolveCommand(img, { name: 'c', image: 'i', command: ['echo', '$(GREETING)', '$$(A)', '$(MISSING)'], env: [{ name: 'A', value: 'pod' }, { name: 'GREETING', value: 'hi-$(A)' }] }, 'h');
    expect(r.env).toEqual(['PATH=/bin', 'A=pod', 'HOSTNAME=h', 'GREETING=hi-pod']);
    expect(r.argv).toEqual(['echo', 'hi-pod', '$(A)', '$(MISSING)']);
  });
  it('falls back to the image working directory, and searches PATH', () => {
    const r = resolveCommand(img, { name: 'c', image: 'i', command: ['tool'] }, 'h');
    expect(r.workingDir).toBe('/srv');
    expect(r.candidates).toEqual(['/bin/tool']);
    expect(execCandidates('./x', '/bin')).toEqual(['./x']);
  });
  it('refuses a container with nothing to run', () => {
    expect(() => resolveCommand({ ...img, entrypoint: [], cmd: [] }, { name: 'c', image: 'i' }, 'h')).toThrow(/no command to run/);
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
