// Containment as data: what the plans ask of the kernel for capabilities,
// identity, the seccomp profile, masked paths, subPath, propagation and the pod's
// namespace options, asserted without root. The integration tests prove the
// kernel does what these steps say.
import { describe, expect, it } from 'vitest';
import { capabilityMask, capabilitySets, DEFAULT_CAPABILITIES, normalizeCapability } from '../../src/plan/capabilities.js';
import { MASKED_PATHS, READONLY_PATHS } from '../../src/plan/container.js';
import { containerPlan, secure, type ContainerInputs } from './old-inputs.js';
import { sandboxPlan } from '../../src/plan/sandbox.js';
import type { FsView } from '../../src/plan/scoped-path.js';
import { securitySteps } from '../../src/plan/security.js';
import type { Step } from '../../src/plan/types.js';
import type { Container, PodSpec } from '../../src/manifest/types.js';

function fakeFs(files: Record<string, string> = {}, regular: string[] = []): FsView {
  return {
    readlink: () => null,
    exists: (p) => p in files || regular.includes(p),
    isFile: (p) => regular.includes(p),
    readFile: (p) => files[p] ?? null,
  };
}

const image = { rootfs: '/img', config: { entrypoint: [], cmd: ['sh'], env: ['PATH=/bin'], workingDir: '/' } };

function inputs(container: Partial<Container> = {}, over: Partial<ContainerInputs> = {}): ContainerInputs {
  return {
    container: { name: 'c', image: 'busybox', command: ['app'], ...container },
    image,
    hostname: 'pod1',
    sandboxPid: 4242,
    dirs: { rootfs: '/d/c/rootfs', upper: '/d/c/upper', work: '/d/c/work' },
    pod: { shm: '/d/shm', hosts: '/d/etc/hosts', hostname: '/d/etc/hostname', resolvConf: '/d/etc/resolv.conf' },
    volumes: new Map(),
    fs: fakeFs(),
    arch: 'x64',
    ...over,
  };
}

const ops = (steps: Step[]): string[] => steps.map((s) => s.op);
const indexOf = (steps: Step[], pred: (s: Step) => boolean): number => steps.findIndex(pred);

describe('capabilities', () => {
  it('defaults to containerd’s 14, the mask Docker prints as a80425fb', () => {
    expect(capabilityMask(DEFAULT_CAPABILITIES).toString(16)).toBe('a80425fb');
    expect(capabilitySets(undefined, false, 'x')).toEqual({ kept: [...DEFAULT_CAPABILITIES].sort((a, b) => capabilityMask([a]) < capabilityMask([b]) ? -1 : 1), added: [] });
  });
  it('applies ALL first, then single adds, then single drops (containerd’s order)', () => {
    expect(capabilitySets({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, false, 'x')).toEqual({ kept: ['NET_BIND_SERVICE'], added: ['NET_BIND_SERVICE'] });
    expect(capabilitySets({ add: ['ALL'], drop: ['ALL'] }, false, 'x').kept).toEqual([]);
    expect(capabilitySets({ add: ['ALL'] }, false, 'x').kept).toHaveLength(41);
    expect(capabilitySets({ add: ['SYS_ADMIN'], drop: ['SYS_ADMIN', 'KILL'] }, false, 'x').kept).not.toContain('KILL');
    expect(capabilitySets({ add: ['SYS_ADMIN'], drop: ['SYS_ADMIN'] }, false, 'x')).toMatchObject({ added: [] });
    expect(capabilitySets(undefined, true, 'x').kept).toHaveLength(41);
  });
  it('accepts CAP_ prefixes and any case, and names the field of an unknown one', () => {
    expect(normalizeCapability('cap_net_raw', 'f')).toBe('NET_RAW');
    expect(normalizeCapability('all', 'f')).toBe('ALL');
    expect(() => capabilitySets({ add: ['NET_RAW', 'FLY'] }, false, 'container "c": securityContext.capabilities')).toThrow(
      'container "c": securityContext.capabilities.add[1]: unknown capability "FLY"; use a name such as NET_BIND_SERVICE or NET_ADMIN (without CAP_), or ALL',
    );
  });
});

describe('identity and privileges', () => {
  const passwd = { '/img/etc/passwd': 'root:x:0:0::/:/bin/sh\nweb:x:33:33::/:/bin/false\n', '/img/etc/group': 'web:x:33:\nlogs:x:40:web,other\n' };
  const resolve = (c: Container['securityContext'], pod?: PodSpec['securityContext']) =>
    secure({ container: { name: 'c', image: 'i', securityContext: c }, podSpec: { containers: [], securityContext: pod }, rootfs: '/img', fs: fakeFs(passwd) });

  it('runs as root with the default set, no_new_privs and the filter by default', () => {
    expect(resolve(undefined)).toMatchObject({ uid: 0, gid: 0, groups: [0], noNewPrivs: true, seccomp: { type: 'RuntimeDefault' }, inheritable: [], ambient: [] });
  });
  it('takes the container’s ids over the pod’s, the primary group and groups from the image', () => {
    expect(resolve({ runAsUser: 33 })).toMatchObject({ uid: 33, gid: 33, groups: [33, 40] });
    expect(resolve(undefined, { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 2000 })).toMatchObject({ uid: 1000, gid: 3000, groups: [3000, 4000, 2000] });
    expect(resolve({ runAsUser: 7, runAsGroup: 8 }, { runAsUser: 1000, runAsGroup: 3000 })).toMatchObject({ uid: 7, gid: 8, groups: [8] });
    expect(resolve({ runAsUser: 1234 })).toMatchObject({ gid: 0, groups: [0] });
  });
  it('gives a non-root user only the capabilities it asked for by name, as ambient ones', () => {
    const s = resolve({ runAsUser: 1000, capabilities: { add: ['NET_BIND_SERVICE'] } });
    expect(s).toMatchObject({ permitted: ['NET_BIND_SERVICE'], inheritable: ['NET_BIND_SERVICE'], ambient: ['NET_BIND_SERVICE'] });
    expect(s.bounding).toContain('CHOWN');
    expect(resolve({ runAsUser: 1000 })).toMatchObject({ permitted: [], ambient: [] });
  });
  it('refuses runAsNonRoot with uid 0, and privileged with allowPrivilegeEscalation: false, with the reason', () => {
    expect(() => resolve({ runAsNonRoot: true })).toThrow(
      'container "c": runAsNonRoot is set but the container would run as root (uid 0, the image has no user); set securityContext.runAsUser to a non-zero uid',
    );
    expect(() => resolve(undefined, { runAsNonRoot: true, runAsUser: 0 })).toThrow(/uid 0, from runAsUser/);
    expect(resolve({ runAsNonRoot: true }, { runAsUser: 5 }).uid).toBe(5);
    expect(() => resolve({ privileged: true, allowPrivilegeEscalation: false })).toThrow(/cannot set allowPrivilegeEscalation to false and privileged to true/);
    expect(() => resolve({ runAsUser: -1 })).toThrow('container "c": securityContext.runAsUser: must be between 0 and 2147483647, got -1');
  });
  it('lets allowPrivilegeEscalation: true or privileged go without no_new_privs; privileged has no filter', () => {
    expect(resolve({ allowPrivilegeEscalation: true })).toMatchObject({ noNewPrivs: false, seccomp: { type: 'RuntimeDefault' } });
    expect(resolve({ privileged: true })).toMatchObject({ noNewPrivs: false, seccomp: { type: 'Unconfined', why: 'privileged' }, privileged: true });
  });
  it('orders the steps so each still holds the privilege it needs', () => {
    const steps = securitySteps(resolve({ runAsUser: 1000 }), 'x64');
    expect(ops(steps)).toEqual(['seccomp', 'no_new_privs', 'capbset', 'keepcaps', 'setgroups', 'setgid', 'setuid', 'keepcaps', 'capset']);
    expect(steps.at(-1)).toMatchObject({ op: 'capset', permitted: [], limitToHeld: false });
    const priv = securitySteps(resolve({ privileged: true }), 'x64');
    expect(ops(priv)).not.toContain('seccomp');
    expect(ops(priv)).not.toContain('no_new_privs');
    expect(priv.at(-1)).toMatchObject({ op: 'capset', limitToHeld: true });
  });
});

describe('the seccomp profile', () => {
  const ROOT = '/sec';
  const good = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] });
  const files = { '/sec/ok.json': good, '/sec/bad.json': '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "DENY"}]}' };
  const readProfile = (path: string): string => {
    const text = (files as Record<string, string>)[path];
    if (text !== undefined) return text;
    throw Object.assign(new Error(path), { code: path === '/sec/dir' ? 'EISDIR' : 'ENOENT' });
  };
  const resolve = (c?: Container['securityContext'], pod?: PodSpec['securityContext']) =>
    secure({ container: { name: 'c', image: 'i', securityContext: c }, podSpec: { containers: [], securityContext: pod }, rootfs: '/img', fs: fakeFs(), seccompRoot: ROOT, readProfile });
  const localhost = (localhostProfile: string) => ({ seccompProfile: { type: 'Localhost' as const, localhostProfile } });

  it('is RuntimeDefault unless said otherwise; the container’s over the pod’s; none when privileged', () => {
    expect(resolve().seccomp).toEqual({ type: 'RuntimeDefault' });
    expect(resolve(undefined, { seccompProfile: { type: 'Unconfined' } }).seccomp).toEqual({ type: 'Unconfined', why: 'profile' });
    expect(resolve({ seccompProfile: { type: 'RuntimeDefault' } }, { seccompProfile: { type: 'Unconfined' } }).seccomp).toEqual({ type: 'RuntimeDefault' });
    expect(resolve({ privileged: true, ...localhost('missing.json') }).seccomp).toEqual({ type: 'Unconfined', why: 'privileged' });
  });

  it('reads a Localhost profile below the seccomp root, and installs it with the profile’s name', () => {
    const s = resolve(undefined, localhost('ok.json'));
    expect(s.seccomp).toMatchObject({ type: 'Localhost', file: '/sec/ok.json', localhostProfile: 'ok.json', profile: { defaultAction: 'SCMP_ACT_ALLOW' } });
    expect(securitySteps(s, 'x64')[0]).toMatchObject({ op: 'seccomp', profile: 'Localhost /sec/ok.json' });
    expect(securitySteps(resolve(), 'x64')[0]).toMatchObject({ op: 'seccomp', profile: 'RuntimeDefault' });
    expect(ops(securitySteps(resolve({ seccompProfile: { type: 'Unconfined' } }), 'x64'))).not.toContain('seccomp');
  });

  it('refuses a missing, unreadable or malformed Localhost profile, naming the field, the file and the problem', () => {
    expect(() => resolve(localhost('missing.json'))).toThrow(
      'container "c": securityContext.seccompProfile: cannot read the Localhost seccomp profile /sec/missing.json: no such file; put the profile there (JSON, Docker\'s format) or set $PEAPOD_SECCOMP_ROOT',
    );
    expect(() => resolve(undefined, localhost('dir'))).toThrow('container "c": spec.securityContext.seccompProfile: cannot read the Localhost seccomp profile /sec/dir: it is a directory');
    expect(() => resolve(localhost('bad.json'))).toThrow(
      'container "c": securityContext.seccompProfile: the Localhost seccomp profile /sec/bad.json is not valid: /sec/bad.json:1:81: syscalls[0].action: unknown action "DENY"',
    );
    expect(() => resolve(localhost('../etc/x.json'))).toThrow(/must be a relative path below \/sec without "\.\."/);
  });

  it('refuses to build a filter where peapod has no system call table', () => {
    expect(() => securitySteps(resolve(), 'riscv64')).toThrow(/seccomp: no system call tables for the riscv64 architecture/);
  });
});

describe('container plan: containment', () => {
  it('masks and makes read-only the OCI paths, with the container’s own /dev/null, unless privileged', () => {
    const s = containerPlan(inputs()).steps;
    for (const p of MASKED_PATHS) expect(s).toContainEqual({ op: 'mask', path: p, nullDevice: '/dev/null' });
    for (const p of READONLY_PATHS) expect(s).toContainEqual({ op: 'readonly_path', path: p });
    expect(indexOf(s, (x) => x.op === 'mknod' && x.path === '/dev/null')).toBeLessThan(indexOf(s, (x) => x.op === 'mask'));
    // /proc, and so its masks, only once born in the pod's PID namespace.
    expect(indexOf(s, (x) => x.op === 'enter_pid_ns')).toBeLessThan(indexOf(s, (x) => x.op === 'mount' && x.fstype === 'proc'));
    expect(s.find((x) => x.op === 'mount' && x.fstype === 'sysfs')).toMatchObject({ flags: ['rdonly', 'nosuid', 'nodev', 'noexec'] });
    const priv = containerPlan(inputs({ securityContext: { privileged: true } })).steps;
    expect(ops(priv)).not.toContain('mask');
    expect(ops(priv)).not.toContain('readonly_path');
    expect(priv.find((x) => x.op === 'mount' && x.fstype === 'sysfs')).toMatchObject({ flags: ['nosuid', 'nodev', 'noexec'] });
  });

  it('drops privileges after pivot_root, changes ids before chdir, and sets PDEATHSIG (checked against the host’s /proc) after the uid change', () => {
    const s = containerPlan(inputs({ securityContext: { runAsUser: 1000 } })).steps;
    const at = (op: string): number => s.findIndex((x) => x.op === op);
    expect(at('pivot_root')).toBeLessThan(at('seccomp'));
    expect(at('setuid')).toBeLessThan(at('chdir'));
    expect(at('setuid')).toBeLessThan(at('pdeathsig'));
    const proc = s.find((x) => x.op === 'open' && x.path === '/proc');
    expect(indexOf(s, (x) => x === proc)).toBeLessThan(at('pivot_root'));
    expect(s[at('pdeathsig')]).toEqual({ op: 'pdeathsig', signal: 'SIGKILL', procFd: (proc as Extract<Step, { op: 'open' }>).fd });
    expect(ops(s).slice(-4)).toEqual(['chdir', 'pdeathsig', 'setsid', 'exec']);
  });

  it('starts the command through a read-only pause opened before pivot_root, never by its own execve, in a new session keyring', () => {
    const s = containerPlan(inputs({}, { initBinary: '/opt/pause' })).steps;
    const exe = s.find((x) => x.op === 'open_exe');
    expect(exe).toMatchObject({ op: 'open_exe', path: '/opt/pause' });
    expect(indexOf(s, (x) => x === exe)).toBeLessThan(indexOf(s, (x) => x.op === 'pivot_root'));
    expect(s.at(-1)).toEqual({
      op: 'exec', candidates: [], fd: (exe as Extract<Step, { op: 'open_exe' }>).fd,
      argv: ['pause', '--exec', '99', '1', '/bin/app', 'app'], env: ['PATH=/bin', 'HOSTNAME=pod1'], statusFd: 99, what: 'app',
    });
    expect(indexOf(s, (x) => x.op === 'new_session_keyring')).toBeLessThan(indexOf(s, (x) => x.op === 'exec'));
  });

  it('remounts / read-only after the working directory is made, for readOnlyRootFilesystem', () => {
    const s = containerPlan(inputs({ workingDir: '/srv/app', securityContext: { readOnlyRootFilesystem: true } })).steps;
    const ro = indexOf(s, (x) => x.op === 'remount_ro' && x.target === '/');
    expect(ro).toBeGreaterThan(indexOf(s, (x) => x.op === 'mkdir' && x.path === '/srv/app'));
    expect(ro).toBeLessThan(indexOf(s, (x) => x.op === 'chdir'));
    expect(containerPlan(inputs()).steps.some((x) => x.op === 'remount_ro' && x.target === '/')).toBe(false);
  });

  it('opens a subPath beneath its volume before / goes private, and mounts a copy of the fd, never the path', () => {
    const plan = containerPlan(
      inputs(
        {
          env: [{ name: 'DIR', value: 'logs' }],
          volumeMounts: [
            { name: 'v', mountPath: '/conf/app.conf', subPath: 'config/app.conf', readOnly: true },
            { name: 'v', mountPath: '/logs', subPathExpr: '$(DIR)/web' },
          ],
        },
        { volumes: new Map([['v', { hostPath: '/vol', kind: 'dir' as const, mode: 0o777 }]]), fs: fakeFs({}, ['/vol/config/app.conf']) },
      ),
    );
    const s = plan.steps;
    const priv = indexOf(s, (x) => x.op === 'mount' && x.target === '/' && x.flags.includes('private'));
    // Mounts go shortest mountPath first: /logs, then /conf/app.conf.
    const subs = s.slice(0, priv).filter((x): x is Extract<Step, { op: 'open_beneath' }> => x.op === 'open_beneath');
    expect(subs).toMatchObject([
      { op: 'open_beneath', base: '/vol', path: 'logs/web', make: 'dirs', mode: 0o777, what: 'subPath "logs/web" of volume "v"' },
      { op: 'open_beneath', base: '/vol', path: 'config/app.conf', what: 'subPath "config/app.conf" of volume "v"' },
    ]);
    expect(subs[1]).not.toHaveProperty('make');
    for (const [sub, target, kind] of [[subs[0], 'logs', 'dirs'], [subs[1], 'conf/app.conf', 'file']] as const) {
      const copy = s.find((x) => x.op === 'open_tree' && x.fromFd === sub?.fd) as Extract<Step, { op: 'open_tree' }>;
      const point = s.find((x) => x.op === 'open_beneath' && x.base === '/' && x.path === target) as Extract<Step, { op: 'open_beneath' }>;
      expect(point).toMatchObject({ inRoot: true, make: kind });
      expect(s).toContainEqual(expect.objectContaining({ op: 'move_mount', fd: copy.fd, toFd: point.fd }));
    }
    const conf = s.find((x) => x.op === 'open_tree' && x.fromFd === subs[1]?.fd) as Extract<Step, { op: 'open_tree' }>;
    expect(s).toContainEqual({ op: 'mount_setattr', fd: conf.fd, readOnly: true });
    expect(s.some((x) => x.op === 'open_tree' && x.path?.startsWith('/vol/'))).toBe(false);
  });

  it('refuses subPaths that climb or start at /, and a subPath of a file volume', () => {
    const vol = { volumes: new Map([['v', { hostPath: '/vol', kind: 'dir' as const }], ['f', { hostPath: '/f', kind: 'file' as const }]]) };
    expect(() => containerPlan(inputs({ volumeMounts: [{ name: 'v', mountPath: '/x', subPath: 'a/../../b' }] }, vol))).toThrow(`must not contain '..'`);
    expect(() => containerPlan(inputs({ volumeMounts: [{ name: 'v', mountPath: '/x', subPath: '/etc' }] }, vol))).toThrow('must be a relative path');
    expect(() => containerPlan(inputs({ volumeMounts: [{ name: 'f', mountPath: '/x', subPath: 'a' }] }, vol))).toThrow('subPath needs a directory volume; /f is a file');
  });

  it('refuses mount destinations under /proc and /sys, the termination message path too', () => {
    const vol = { volumes: new Map([['v', { hostPath: '/vol', kind: 'dir' as const }]]) };
    for (const mountPath of ['/proc/self/root/tmp/x', '/proc', '/sys/x', '/a/../proc/1/root']) {
      expect(() => containerPlan(inputs({ volumeMounts: [{ name: 'v', mountPath }] }, vol))).toThrow(/volumeMounts\[0\] \(v\)\.mountPath: .* is under \/(proc|sys); peapod refuses mounts there/);
    }
    expect(() => containerPlan(inputs({ terminationMessagePath: '/proc/self/root/tmp/t' }, vol))).toThrow(/container "c": terminationMessagePath: "\/proc\/self\/root\/tmp\/t" is under \/proc/);
  });

  it('takes a copy of the host’s mounts before going private for HostToContainer (rslave) and Bidirectional (rshared)', () => {
    const vol = { volumes: new Map([['v', { hostPath: '/host/v', kind: 'dir' as const }]]) };
    const s = containerPlan(inputs({ volumeMounts: [{ name: 'v', mountPath: '/v', mountPropagation: 'HostToContainer' }] }, vol)).steps;
    const priv = indexOf(s, (x) => x.op === 'mount' && x.target === '/' && x.flags.includes('private'));
    const copy = s.find((x) => x.op === 'open_tree' && x.path === '/host/v') as Extract<Step, { op: 'open_tree' }>;
    expect(indexOf(s, (x) => x === copy)).toBeLessThan(priv);
    expect(s).toContainEqual({ op: 'mount_setattr', fd: copy.fd, propagation: 'slave', recursive: true });
    const bidi = containerPlan(inputs({ securityContext: { privileged: true }, volumeMounts: [{ name: 'v', mountPath: '/v', mountPropagation: 'Bidirectional' }] }, vol)).steps;
    expect(bidi).toContainEqual(expect.objectContaining({ op: 'mount_setattr', propagation: 'shared', recursive: true }));
    expect(() => containerPlan(inputs({ volumeMounts: [{ name: 'v', mountPath: '/v', mountPropagation: 'Bidirectional' }] }, vol))).toThrow(/needs a privileged container/);
  });

  it('shareProcessNamespace: false: a new PID namespace with pause --init, exec’d by fd from a read-only mount, signals kept blocked', () => {
    const plan = containerPlan(inputs({}, { podSpec: { containers: [], shareProcessNamespace: false }, initBinary: '/opt/pause' }));
    expect(plan.newNamespaces).toEqual(['mnt', 'pid']);
    expect(ops(plan.steps)).not.toContain('enter_pid_ns');
    expect(plan.keepSignalsBlocked).toBe(true);
    const exe = plan.steps.find((x) => x.op === 'open_exe') as Extract<Step, { op: 'open_exe' }>;
    expect(exe.path).toBe('/opt/pause');
    expect(indexOf(plan.steps, (x) => x === exe)).toBeLessThan(indexOf(plan.steps, (x) => x.op === 'pivot_root'));
    expect(plan.steps.at(-1)).toEqual({ op: 'exec', candidates: [], fd: exe.fd, argv: ['pause', '--init', '1', '/bin/app', 'app'], env: ['PATH=/bin', 'HOSTNAME=pod1'], what: 'app' });
  });

  it('hostPID joins pause’s (the host’s) PID namespace whatever shareProcessNamespace says; hostIPC takes the host’s /dev/shm', () => {
    const plan = containerPlan(inputs({}, { podSpec: { containers: [], hostPID: true, shareProcessNamespace: false } }));
    const ns = plan.steps.find((x) => x.op === 'open' && x.path === '/proc/4242/ns/pid') as Extract<Step, { op: 'open' }>;
    expect(ns).toMatchObject({ read: true });
    expect(plan.steps).toContainEqual({ op: 'enter_pid_ns', fd: ns.fd });
    expect(plan.newNamespaces).toEqual(['mnt']);
    const ipc = containerPlan(inputs({}, { podSpec: { containers: [], hostIPC: true } })).steps;
    expect(ipc).toContainEqual(expect.objectContaining({ op: 'open_tree', path: '/dev/shm' }));
  });
});

describe('sandbox plan: pause contained', () => {
  it('gets an empty read-only root, runs from a read-only copy of its binary’s mount, no capabilities, uid 65535', () => {
    const plan = sandboxPlan({ hostname: 'p', pauseBinary: '/opt/peapod/pause' });
    const s = plan.steps;
    const exe = s.find((x) => x.op === 'open_exe') as Extract<Step, { op: 'open_exe' }>;
    expect(exe.path).toBe('/opt/peapod/pause');
    expect(s).toContainEqual(expect.objectContaining({ op: 'mount', fstype: 'tmpfs', target: '/opt/peapod', flags: expect.arrayContaining(['rdonly']) }));
    expect(s).toContainEqual({ op: 'pivot_root', root: '/opt/peapod' });
    expect(s).toContainEqual({ op: 'capbset', keep: [] });
    expect(s).toContainEqual({ op: 'setuid', uid: 65535 });
    // PDEATHSIG first of all (checked through the host's /proc), and again after the uid change.
    expect(s.slice(0, 2)).toEqual([{ op: 'open', path: '/proc', fd: 100 }, { op: 'pdeathsig', signal: 'SIGKILL', procFd: 100 }]);
    expect(s.findIndex((x) => x.op === 'setuid')).toBeLessThan(s.findLastIndex((x) => x.op === 'pdeathsig'));
    expect(s.at(-1)).toEqual({ op: 'exec', candidates: [], fd: exe.fd, argv: ['/pause'], env: [], what: 'pause' });
  });

  it('leaves out the namespaces the pod takes from the host, and never names the host', () => {
    const net = sandboxPlan({ hostname: 'p', pauseBinary: '/x/pause', namespaces: { network: 'NODE', pid: 'POD', ipc: 'POD' } });
    expect(net.newNamespaces.sort()).toEqual(['ipc', 'mnt', 'pid']);
    expect(ops(net.steps)).not.toContain('sethostname');
    expect(ops(net.steps)).not.toContain('loopback_up');
    const all = sandboxPlan({ hostname: 'p', pauseBinary: '/x/pause', namespaces: { network: 'NODE', pid: 'NODE', ipc: 'NODE' } });
    expect(all.newNamespaces).toEqual(['mnt']);
  });
});

describe('Unconfined without a devices cgroup', () => {
  it('drops MKNOD from the default set (every filter refuses device nodes; no filter, no MKNOD), unless asked for by name', () => {
    const unconfined = { seccompProfile: { type: 'Unconfined' as const } };
    const fs = fakeFs();
    const base = { rootfs: '/img', fs };
    expect(secure({ ...base, container: { name: 'c', image: 'i' } }).bounding).toContain('MKNOD');
    expect(secure({ ...base, container: { name: 'c', image: 'i', securityContext: unconfined } }).bounding).not.toContain('MKNOD');
    expect(secure({ ...base, container: { name: 'c', image: 'i', securityContext: { ...unconfined, capabilities: { add: ['MKNOD'] } } } }).bounding).toContain('MKNOD');
    expect(secure({ ...base, container: { name: 'c', image: 'i', securityContext: { ...unconfined, privileged: true } } }).bounding).toContain('MKNOD');
  });
});
