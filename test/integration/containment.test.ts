// Containment, proven from inside: every escape attempt is made by a
// container's own process (the probe, or busybox), never by nsenter from the
// host, which would carry the host's privileges. Each asserts the errno the
// kernel gave and that the host did not change; then the positive side:
// what a container may do still works.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/image/store.js';
import { execIn, expectNothingLeft, isAlive, isRoot, makeRoot, pod, sh, waitFor, type TestRoot } from './helpers.js';
import { buildProbe, expectHostUnchanged, probePod, probing, procStatus, snapshotHost, type HostSnapshot, type Probe } from './containment-harness.js';
import { containerPid, start, runToEnd } from './pods.js';

// containerd's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
// SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
const DEFAULT_CAPS = '00000000a80425fb';

describe.skipIf(!isRoot)('escape attempts from a default container (root, real kernel)', () => {
  let probe: Probe;
  let root: TestRoot;
  let host: HostSnapshot;
  beforeAll(() => {
    probe = buildProbe();
  });
  afterAll(() => probe.cleanup());
  beforeEach(() => {
    root = makeRoot();
    host = snapshotHost();
  });
  afterEach(async () => {
    try {
      await expectNothingLeft(root);
      expectHostUnchanged(host);
    } finally {
      root.cleanup();
    }
  });

  /** Runs probe commands in one default container; returns its output lines. */
  async function attempt(name: string, ...commands: string[][]): Promise<string[]> {
    const r = await runToEnd(root, probePod(probe, name, [probing(probe, 'c', commands)]));
    expect(r.result.exitCode).toBe(0);
    return r.lines('c');
  }

  it('1. cannot mount proc: EPERM (mount -t proc proc /mnt)', async () => {
    expect(await attempt('mount-proc', ['mount', 'proc', 'proc', '/tmp'])).toEqual(['mount: EPERM']);
    const busybox = await runToEnd(root, pod('mount-proc-bb', [sh('c', 'mkdir -p /mnt; mount -t proc proc /mnt 2>&1; echo rc=$?')]));
    expect(busybox.lines('c')).toEqual(['mount: permission denied (are you root?)', 'rc=1']);
  });

  it('2. cannot bind-mount: EPERM (mount --bind /etc /mnt), nor mount a tmpfs', async () => {
    expect(await attempt('mount-bind', ['bind', '/etc', '/tmp'], ['mount', 'tmpfs', 'tmpfs', '/tmp'])).toEqual(['bind: EPERM', 'mount: EPERM']);
    const busybox = await runToEnd(root, pod('mount-bind-bb', [sh('c', 'mkdir -p /mnt; mount --bind /etc /mnt 2>&1; echo rc=$?')]));
    expect(busybox.lines('c')).toEqual(['mount: permission denied (are you root?)', 'rc=1']);
  });

  it('3. cannot unmount a masked path to see what it hides: EPERM', async () => {
    expect(await attempt('umount-mask', ['umount', '/proc/keys'], ['umount', '/proc/acpi'], ['read', '/proc/keys'])).toEqual([
      'umount: EPERM',
      'umount: EPERM',
      'read: 0 bytes',
    ]);
  });

  it('4. cannot write /proc/sys/kernel/hostname (EROFS), and the host keeps its name', async () => {
    expect(await attempt('proc-sys', ['write', '/proc/sys/kernel/hostname', 'pwned'], ['write', '/proc/sys/net/ipv4/ip_forward', '1'])).toEqual([
      'write: EROFS',
      'write: EROFS',
    ]);
    expect(hostname()).toBe(host.hostname);
  });

  it('5. cannot write /proc/sysrq-trigger: read-only where the kernel has it, absent where it does not', async () => {
    const expected = existsSync('/proc/sysrq-trigger') ? 'write: EROFS' : 'write: ENOENT';
    expect(await attempt('sysrq', ['write', '/proc/sysrq-trigger', 'h'])).toEqual([expected]);
  });

  it('6. reads nothing of the host from the masked /proc files and directories', async () => {
    const host = {
      timerList: readFileSync('/proc/timer_list').length,
      acpi: existsSync('/proc/acpi'),
      firmware: existsSync('/sys/firmware'),
    };
    expect(host.timerList).toBeGreaterThan(0);
    const lines = await attempt('masked', ['read', '/proc/kcore'], ['read', '/proc/timer_list'], ['read', '/proc/keys'], ['ls', '/proc/acpi'], ['ls', '/sys/firmware']);
    // /proc/kcore: /dev/null over it where the kernel has one.
    expect(lines[0]).toBe(existsSync('/proc/kcore') ? 'read: 0 bytes' : 'read: ENOENT');
    expect(lines.slice(1)).toEqual(['read: 0 bytes', 'read: 0 bytes', host.acpi ? 'ls:' : 'ls: ENOENT', host.firmware ? 'ls:' : 'ls: ENOENT']);
  });

  it('7. cannot write under /sys (read-only): EROFS, and the host’s lo keeps its MTU', async () => {
    const mtu = readFileSync('/sys/class/net/lo/mtu', 'utf8');
    expect(await attempt('sys-write', ['write', '/sys/class/net/lo/mtu', '1280'], ['write', '/sys/kernel/uevent_helper', '/tmp/x'])).toEqual([
      'write: EROFS',
      existsSync('/sys/kernel/uevent_helper') ? 'write: EROFS' : 'write: EROFS',
    ]);
    expect(readFileSync('/sys/class/net/lo/mtu', 'utf8')).toBe(mtu);
  });

  it('8. cannot mknod a block or character device (EPERM), though a FIFO works', async () => {
    expect(
      await attempt('mknod', ['mknod', '/tmp/sda', 'b', '8', '0'], ['mknod', '/tmp/mem', 'c', '1', '1'], ['mknod', '/tmp/fifo', 'p', '0', '0'], ['stat', '/tmp/sda'], ['ls', '/dev']),
    ).toEqual(['mknod: EPERM', 'mknod: EPERM', 'mknod: OK', 'stat: ENOENT', expect.stringMatching(/^ls: /)]);
    const busybox = await runToEnd(root, pod('mknod-bb', [sh('c', 'mknod /tmp/loop0 b 7 0 2>&1; echo rc=$?')]));
    expect(busybox.lines('c')).toEqual(['mknod: /tmp/loop0: Operation not permitted', 'rc=1']);
  });

  it('9. /dev holds only null zero full random urandom tty, the pod’s pts and ptmx (and shm, the std links)', async () => {
    const lines = await attempt('dev', ['ls', '/dev']);
    const entries = (lines[0] ?? '').replace(/^ls: ?/, '').split(' ').sort();
    expect(entries).toEqual(['fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'termination-log', 'tty', 'urandom', 'zero']);
  });

  it('10. sees no host process: /proc lists pause (1) and itself (2) only', async () => {
    const lines = await attempt('ps', ['ls', '/proc']);
    const pids = (lines[0] ?? '').split(' ').filter((e) => /^\d+$/.test(e)).sort();
    expect(pids).toEqual(['1', '2']);
  });

  it('11. cannot kill a host process: ESRCH, and it lives on', async () => {
    const victim: ChildProcess = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = victim.pid as number;
      expect(await attempt('kill', ['kill', String(pid), '9'])).toEqual(['kill: ESRCH']);
      expect(isAlive(pid)).toBe(true);
    } finally {
      victim.kill('SIGKILL');
    }
  });

  it('12. cannot change the hostname without CAP_SYS_ADMIN: EPERM (hostname x)', async () => {
    expect(await attempt('hostname', ['sethostname', 'x'])).toEqual(['sethostname: EPERM']);
    const busybox = await runToEnd(root, pod('hostname-bb', [sh('c', 'hostname evil 2>&1; echo rc=$?; hostname')]));
    expect(busybox.lines('c')).toEqual(['hostname: sethostname: Operation not permitted', 'rc=1', 'hostname-bb']);
  });

  it('13. a privileged container’s `hostname x` changes only the pod’s name, proven from the host', async () => {
    const s = await start(
      root,
      pod('renamer', [sh('priv', 'hostname renamed-in-pod; echo done; sleep 30', { securityContext: { privileged: true } }), sh('other', 'sleep 30')]),
    );
    await waitFor('the rename', () => (s.logs.get('priv') ?? []).includes('done'));
    expect(hostname()).toBe(host.hostname);
    expect((await execIn(containerPid(s, 'other'), ['hostname'])).stdout.trim()).toBe('renamed-in-pod');
    await s.runtime.stop({ force: true });
  });

  it('14. cannot chroot out with the ".." trick: it climbs to the container’s root, not the host’s', async () => {
    expect(await attempt('chroot', ['chroot-escape', root.dir], ['stat', root.dir])).toEqual(['chroot-escape: ENOENT', 'stat: ENOENT']);
  });

  it('15. holds no fd of the host to fchdir() through: only stdin, stdout, stderr', async () => {
    expect(await attempt('fds', ['fds'])).toEqual(['fds: 0 1 2']);
  });

  it('16. cannot read the host through pause: /proc/1/root, /proc/1/cwd, /proc/1/environ are EACCES', async () => {
    expect(
      await attempt('pause-peek', ['readlink', '/proc/1/root'], ['ls', '/proc/1/root/'], ['readlink', '/proc/1/cwd'], ['read', '/proc/1/environ'], ['setns', '/proc/1/ns/mnt']),
    ).toEqual(['readlink: EACCES', 'ls: EACCES', 'readlink: EACCES', 'read: EACCES', 'setns: EACCES']);
  });

  it('17. cannot pivot_root: EPERM', async () => {
    expect(await attempt('pivot', ['pivot_root', '/', '/'])).toEqual(['pivot_root: EPERM']);
  });

  it('18. cannot load a kernel module: EPERM (init_module, finit_module), and /proc/modules is unchanged', async () => {
    // The RuntimeDefault seccomp profile refuses them (EPERM) before the
    // kernel looks at CAP_SYS_MODULE, or at whether it has modules at all.
    expect(await attempt('module', ['init_module'], ['finit_module'])).toEqual(['init_module: EPERM', 'finit_module: EPERM']);
  });

  it('19. cannot reboot: EPERM', async () => {
    expect(await attempt('reboot', ['reboot'])).toEqual(['reboot: EPERM']);
  });

  it('20. cannot open a raw or packet socket once NET_RAW is dropped: EPERM', async () => {
    const r = await runToEnd(
      root,
      probePod(probe, 'noraw', [probing(probe, 'c', [['raw-socket'], ['packet-socket']], { securityContext: { capabilities: { drop: ['NET_RAW'] } } })]),
    );
    expect(r.lines('c')).toEqual(['raw-socket: EPERM', 'packet-socket: EPERM']);
  });

  it('21. cannot setuid(0) after runAsUser: 1000 with no_new_privs: EPERM', async () => {
    const r = await runToEnd(
      root,
      probePod(probe, 'setuid', [probing(probe, 'c', [['setuid', '0'], ['setgroups'], ['whoami'], ['caps']], { securityContext: { runAsUser: 1000 } })]),
    );
    expect(r.lines('c')).toEqual([
      'setuid: EPERM',
      'setgroups: EPERM',
      'whoami: uid=1000 euid=1000 gid=0 egid=0 groups=0',
      'CapInh:\t0000000000000000',
      'CapPrm:\t0000000000000000',
      'CapEff:\t0000000000000000',
      `CapBnd:\t${DEFAULT_CAPS}`,
      'CapAmb:\t0000000000000000',
      'NoNewPrivs:\t1',
      'Seccomp:\t2',
    ]);
  });

  it('22. a setuid-root binary gains nothing under no_new_privs; allowPrivilegeEscalation: true is what lets it', async () => {
    const dir = mkdtempSync('/tmp/peapod-suid-');
    chmodSync(dir, 0o755);
    try {
      copyFileSync(join(probe.dir, 'probe'), join(dir, 'suid'));
      chownSync(join(dir, 'suid'), 0, 0);
      chmodSync(join(dir, 'suid'), 0o4755);
      const suidPod = (name: string, allow?: boolean): Parameters<typeof runToEnd>[1] =>
        pod(
          name,
          [
            {
              name: 'c',
              image: 'busybox',
              command: ['/suid/suid', 'whoami'],
              volumeMounts: [{ name: 'suid', mountPath: '/suid', readOnly: true }],
              securityContext: { runAsUser: 1000, ...(allow === undefined ? {} : { allowPrivilegeEscalation: allow }) },
            },
          ],
          [{ name: 'suid', hostPath: { path: dir, type: 'Directory' } }],
        );
      expect((await runToEnd(root, suidPod('nnp'))).lines('c')).toEqual(['whoami: uid=1000 euid=1000 gid=0 egid=0 groups=0']);
      expect((await runToEnd(root, suidPod('nnp-explicit', false))).lines('c')).toEqual(['whoami: uid=1000 euid=1000 gid=0 egid=0 groups=0']);
      expect((await runToEnd(root, suidPod('escalate', true))).lines('c')).toEqual(['whoami: uid=1000 euid=0 gid=0 egid=0 groups=0']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('23. cannot make a user namespace to be root in (EPERM), nor a mount namespace; clone3 is ENOSYS', async () => {
    expect(await attempt('userns', ['unshare-user'], ['unshare-mnt'], ['clone3'])).toEqual(['unshare-user: EPERM', 'unshare-mnt: EPERM', 'clone3: ENOSYS']);
    const busybox = await runToEnd(root, pod('userns-bb', [sh('c', 'unshare -U -r -m sh -c "mount -t tmpfs t /mnt && echo mounted" 2>&1; echo rc=$?')]));
    expect(busybox.lines('c')).toEqual(['unshare: unshare(0x10020000): Operation not permitted', 'rc=1']);
  });

  it('24. cannot open a file by handle (the "shocker" escape): EPERM', async () => {
    expect(await attempt('shocker', ['open-by-handle'])).toEqual(['open-by-handle: EPERM']);
  });

  it('25. cannot ptrace pause (PID 1): EPERM', async () => {
    expect(await attempt('ptrace', ['ptrace', '1'])).toEqual(['ptrace: EPERM']);
  });

  it('26. cannot write its root with readOnlyRootFilesystem (EROFS), while its volumes stay writable; the image is untouched', async () => {
    const r = await runToEnd(
      root,
      probePod(
        probe,
        'rofs',
        [
          probing(probe, 'c', [['write', '/etc/evil', 'x'], ['write', '/bin/sh', 'x'], ['write', '/tmp/ok', 'x'], ['chown', '/etc/passwd', '1', '1']], {
            securityContext: { readOnlyRootFilesystem: true },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          }),
        ],
        [{ name: 'tmp', emptyDir: {} }],
      ),
    );
    expect(r.lines('c')).toEqual(['write: EROFS', 'write: EROFS', 'write: OK', 'chown: EROFS']);
    expect(existsSync(join(imageRoot(), 'etc/evil'))).toBe(false);
  });

  it('27. a lifecycle hook runs the container’s own binaries with a container’s privileges, not the runtime’s', async () => {
    const s = await start(
      root,
      pod(
        'hooked',
        [
          sh('c', 'sleep 30', {
            volumeMounts: [{ name: 'd', mountPath: '/data' }],
            lifecycle: { postStart: { exec: { command: ['sh', '-c', 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status > /data/hook'] } } },
          }),
        ],
        [{ name: 'd', emptyDir: {} }],
      ),
    );
    const file = join(s.runtime.paths.volume('d'), 'hook');
    await waitFor('the hook', () => existsSync(file) && readFileSync(file, 'utf8').includes('Seccomp'));
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toEqual([`CapEff:\t${DEFAULT_CAPS}`, `CapBnd:\t${DEFAULT_CAPS}`, 'NoNewPrivs:\t1', 'Seccomp:\t2']);
    await s.runtime.stop({ force: true });
  });
});

function imageRoot(): string {
  return resolveImage(process.env.PEAPOD_IMAGES ?? '', 'busybox').rootfs;
}

describe.skipIf(!isRoot)('what a container may still do (root, real kernel)', () => {
  let probe: Probe;
  let root: TestRoot;
  beforeAll(() => {
    probe = buildProbe();
  });
  afterAll(() => probe.cleanup());
  beforeEach(() => {
    root = makeRoot();
  });
  afterEach(async () => {
    try {
      await expectNothingLeft(root);
    } finally {
      root.cleanup();
    }
  });

  it('holds exactly containerd’s default capabilities, none inheritable or ambient, with no_new_privs and the filter', async () => {
    const s = await start(root, pod('caps', [sh('c', 'sleep 30')]));
    const st = procStatus(containerPid(s, 'c'));
    expect([st.CapInh, st.CapPrm, st.CapEff, st.CapBnd, st.CapAmb]).toEqual(['0000000000000000', DEFAULT_CAPS, DEFAULT_CAPS, DEFAULT_CAPS, '0000000000000000']);
    expect([st.NoNewPrivs, st.Seccomp, st.Uid, st.Gid]).toEqual(['1', '2', '0\t0\t0\t0', '0\t0\t0\t0']);
    await s.runtime.stop({ force: true });
  });

  it('applies capabilities.add and drop as containerd does: drop ALL then add one; privileged keeps all it can', async () => {
    const s = await start(
      root,
      pod('caps-edit', [
        sh('only-bind', 'sleep 30', { securityContext: { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }),
        sh('plus-admin', 'sleep 30', { securityContext: { capabilities: { add: ['CAP_NET_ADMIN'], drop: ['chown'] } } }),
        sh('none', 'sleep 30', { securityContext: { capabilities: { drop: ['ALL'] } } }),
        sh('priv', 'sleep 30', { securityContext: { privileged: true } }),
      ]),
    );
    expect(procStatus(containerPid(s, 'only-bind')).CapEff).toBe('0000000000000400');
    expect(procStatus(containerPid(s, 'plus-admin')).CapEff).toBe('00000000a80435fa');
    expect(procStatus(containerPid(s, 'none')).CapBnd).toBe('0000000000000000');
    const priv = procStatus(containerPid(s, 'priv'));
    // Everything this runtime holds itself (here CAP_SYS_RESOURCE is missing).
    expect(priv.CapEff).toBe(procStatus(process.pid).CapEff);
    expect([priv.NoNewPrivs, priv.Seccomp]).toEqual(['0', '0']);
    await s.runtime.stop({ force: true });
  });

  it('a privileged container has /sys and /proc/sys writable and nothing masked, as in Kubernetes', async () => {
    const s = await start(root, pod('priv-fs', [sh('priv', 'sleep 30', { securityContext: { privileged: true } }), sh('plain', 'sleep 30')]));
    const mounts = (name: string): string[] => readFileSync(`/proc/${containerPid(s, name)}/mountinfo`, 'utf8').split('\n');
    const opts = (lines: string[], point: string): string | undefined => lines.find((l) => l.split(' ')[4] === point)?.split(' ')[5];
    expect(opts(mounts('priv'), '/sys')?.split(',')[0]).toBe('rw');
    expect(opts(mounts('priv'), '/proc/sys')).toBeUndefined();
    expect(opts(mounts('priv'), '/proc/keys')).toBeUndefined();
    expect(opts(mounts('plain'), '/sys')?.split(',')[0]).toBe('ro');
    expect(opts(mounts('plain'), '/proc/sys')?.split(',')[0]).toBe('ro');
    await s.runtime.stop({ force: true });
  });

  it('binds port 80 as uid 1000 with NET_BIND_SERVICE added (ambient), not without it; root binds it by default', async () => {
    const r = await runToEnd(
      root,
      probePod(probe, 'port80', [
        probing(probe, 'added', [['bind-port', '80'], ['whoami']], { securityContext: { runAsUser: 1000, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }),
        probing(probe, 'plain', [['bind-port', '81']], { securityContext: { runAsUser: 1000 } }),
        probing(probe, 'root', [['bind-port', '82'], ['raw-socket']]),
      ]),
    );
    expect(r.lines('added')).toEqual(['bind-port: OK', 'whoami: uid=1000 euid=1000 gid=0 egid=0 groups=0']);
    expect(r.lines('plain')).toEqual(['bind-port: EACCES']);
    expect(r.lines('root')).toEqual(['bind-port: OK', 'raw-socket: OK']);
  });

  it('chowns in its own root and writes to its volumes', async () => {
    const r = await runToEnd(
      root,
      probePod(probe, 'chown', [probing(probe, 'c', [['chown', '/etc/passwd', '1000', '1000'], ['write', '/data/f', 'x'], ['chown', '/data/f', '33', '33']], { volumeMounts: [{ name: 'd', mountPath: '/data' }] })], [
        { name: 'd', emptyDir: {} },
      ]),
    );
    expect(r.lines('c')).toEqual(['chown: OK', 'write: OK', 'chown: OK']);
  });

  it('refuses to start a container that would run as root under runAsNonRoot, with the reason, leaving nothing', async () => {
    const p = pod('nonroot', [sh('c', 'true', { securityContext: { runAsNonRoot: true } })]);
    await expect(start(root, p)).rejects.toThrow(
      'container "c": runAsNonRoot is set but the container would run as root (uid 0, the image has no user); set securityContext.runAsUser to a non-zero uid',
    );
    const ok = await runToEnd(root, pod('nonroot-ok', [sh('c', 'id -u', { securityContext: { runAsNonRoot: true, runAsUser: 1000 } })]));
    expect(ok.lines('c')).toEqual(['1000']);
  });
});
