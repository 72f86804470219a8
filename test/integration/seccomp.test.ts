// The seccomp profiles, proven from inside a container by its own process
// (the probe, or busybox): RuntimeDefault refuses what Docker's default
// profile refuses (io_uring, unprivileged userfaultfd, keyrings, unsafe
// personalities, AF_VSOCK, new namespaces, device nodes), on the i386 entry
// point too, and lets ordinary work through; Unconfined installs nothing; a
// Localhost profile is honoured, a broken one refused with its file and
// field. What the kernel says (/proc/PID/status Seccomp) is the judge.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectPod } from '../../src/node/inspect.js';
import { renderInspection } from '../../src/cli/inspect.js';
import { peapod } from './cli-harness.js';
import { buildProbe, probePod, probing, procStatus, type Probe } from './containment-harness.js';
import { freshRootPerTest, isRoot, pod, sh, waitFor, type TestRoot } from './helpers.js';
import { containerPid, start, runToEnd } from './pods.js';


describe.skipIf(!isRoot)('seccomp profiles (root, real kernel)', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));
  let probe: Probe;
  let profiles: string;
  const savedRoot = process.env.PEAPOD_SECCOMP_ROOT;
  beforeAll(() => {
    probe = buildProbe('seccomp-probe.c');
    profiles = mkdtempSync('/tmp/peapod-seccomp-');
    process.env.PEAPOD_SECCOMP_ROOT = profiles;
  });
  afterAll(() => {
    probe.cleanup();
    rmSync(profiles, { recursive: true, force: true });
    if (savedRoot === undefined) delete process.env.PEAPOD_SECCOMP_ROOT;
    else process.env.PEAPOD_SECCOMP_ROOT = savedRoot;
  });

  const REFUSED = [
    ['io_uring_setup'], ['io_uring_setup-i386'], ['userfaultfd'], ['keyctl'], ['add_key'], ['request_key'],
    ['personality', '400000'], ['socket', '40'], ['unshare-mnt'], ['mknod-char'],
  ];
  const ALLOWED = [['getpid-i386'], ['personality', 'ffffffff'], ['socket', '2'], ['mkfifo'], ['status']];

  it('a default container: io_uring, userfaultfd, keyrings, READ_IMPLIES_EXEC, AF_VSOCK, unshare, device nodes refused (EPERM); Seccomp: 2', async () => {
    const r = await runToEnd(root, probePod(probe, 'default', [probing(probe, 'c', [...REFUSED, ...ALLOWED])]));
    expect(r.result.exitCode).toBe(0);
    expect(r.lines('c')).toEqual([
      'io_uring_setup: EPERM',
      'io_uring_setup-i386: EPERM',
      'userfaultfd: EPERM',
      'keyctl: EPERM',
      'add_key: EPERM',
      'request_key: EPERM',
      'personality 400000: EPERM',
      'socket 40: EPERM',
      'unshare-mnt: EPERM',
      'mknod-char: EPERM',
      'getpid-i386: OK',
      'personality ffffffff: OK',
      'socket 2: OK',
      'mkfifo: OK',
      'Seccomp:\t2',
      'Seccomp_filters:\t1',
    ]);
  });

  it('SYS_PTRACE opens userfaultfd (and SYS_ADMIN a new mount namespace), as in Docker', async () => {
    const caps = (add: string[]) => ({ securityContext: { capabilities: { add } } });
    const r = await runToEnd(
      root,
      probePod(probe, 'caps', [
        probing(probe, 'ptrace', [['userfaultfd'], ['io_uring_setup']], caps(['SYS_PTRACE'])),
        probing(probe, 'admin', [['unshare-mnt'], ['mknod-char']], caps(['SYS_ADMIN'])),
      ]),
    );
    expect(r.lines('ptrace')).toEqual(['userfaultfd: OK', 'io_uring_setup: EPERM']);
    // peapod's own rule stays: no device node even with SYS_ADMIN.
    expect(r.lines('admin')).toEqual(['unshare-mnt: OK', 'mknod-char: EPERM']);
  });

  it('ordinary work still works under RuntimeDefault: a shell, a pipeline, threads, a server and a client on loopback', async () => {
    const script = [
      'echo peapod | tr a-z A-Z | wc -c',
      'mkdir -p /www && echo served > /www/index.html && httpd -p 127.0.0.1:8080 -h /www',
      'for i in $(seq 100); do wget -q -O - http://127.0.0.1:8080/ 2>/dev/null && break; usleep 50000; done',
      'killall httpd; (sleep 0.1 &) ; wait; ls / | grep -c proc; date +%Y >/dev/null && echo done',
    ].join('; ');
    const r = await runToEnd(root, pod('work', [sh('c', script)]));
    expect(r.result.exitCode).toBe(0);
    expect(r.lines('c')).toEqual(['7', 'served', '1', 'done']);
  });

  it('Unconfined installs no filter: Seccomp: 0 and io_uring works; inspect shows each profile and mode', async () => {
    const s = await start(
      root,
      probePod(probe, 'mixed', [
        probing(probe, 'free', [['io_uring_setup'], ['mknod-char'], ['status'], ['pause']], { securityContext: { seccompProfile: { type: 'Unconfined' } } }),
        probing(probe, 'boxed', [['status'], ['pause']]),
      ]),
    );
    await waitFor('both probes', () => (s.logs.get('free')?.length ?? 0) >= 4 && (s.logs.get('boxed')?.length ?? 0) >= 2);
    // No filter, and so no MKNOD either (no devices cgroup would stop a device node).
    expect(s.logs.get('free')).toEqual(['io_uring_setup: OK', 'mknod-char: EPERM', 'Seccomp:\t0', 'Seccomp_filters:\t0']);
    expect(procStatus(containerPid(s, 'free')).Seccomp).toBe('0');
    expect(procStatus(containerPid(s, 'boxed')).Seccomp).toBe('2');

    const view = inspectPod(root.paths, 'mixed');
    const c = (name: string) => view.containers.find((x) => x.name === name);
    expect(c('free')).toMatchObject({ seccompProfile: 'Unconfined', processes: [{ seccomp: { mode: 0, filters: 0 } }] });
    expect(c('boxed')).toMatchObject({ seccompProfile: 'RuntimeDefault', processes: [{ seccomp: { mode: 2, filters: 1 } }] });
    expect(view.pause.seccomp).toEqual({ mode: 0, filters: 0 });
    const text = renderInspection(view);
    expect(text).toMatch(/^\s+free\s+Unconfined\s+Seccomp: 0$/m);
    expect(text).toMatch(/^\s+boxed\s+RuntimeDefault\s+Seccomp: 2, Seccomp_filters: 1$/m);
    expect(text.split('\n').find((l) => l.startsWith('boxed '))).toMatch(/\sfilter\s/);
    await s.runtime.stop({ force: true });
  });

  it('a Localhost profile is honoured: its errno for the call it denies, EPERM for device nodes, ENOSYS for an ABI it leaves out; exec gets it too', async () => {
    mkdirSync(join(profiles, 'team'), { recursive: true });
    writeFileSync(
      join(profiles, 'team', 'no-mkdir.json'),
      JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 18 }] }),
    );
    const localhost = { seccompProfile: { type: 'Localhost' as const, localhostProfile: 'team/no-mkdir.json' } };
    const s = await start(root, probePod(probe, 'local', [probing(probe, 'c', [['mkdir'], ['mknod-char'], ['getpid-i386'], ['io_uring_setup'], ['status'], ['pause']])], [], { securityContext: localhost }));
    await waitFor('the probe', () => (s.logs.get('c')?.length ?? 0) >= 6);
    expect(s.logs.get('c')).toEqual(['mkdir: EXDEV', 'mknod-char: EPERM', 'getpid-i386: ENOSYS', 'io_uring_setup: OK', 'Seccomp:\t2', 'Seccomp_filters:\t1']);
    // `peapod exec` (another process, as a user would type it) runs under the same profile.
    const exec = await peapod(root, ['exec', 'local', '-c', 'c', '--', probe.bin, 'mkdir', '--', 'mkfifo']);
    expect(exec.code).toBe(0);
    expect(exec.stdout.split('\n').filter(Boolean)).toEqual(['mkdir: EXDEV', 'mkfifo: OK']);
    expect(inspectPod(root.paths, 'local').containers[0]?.seccompProfile).toBe(`Localhost ${join(profiles, 'team', 'no-mkdir.json')}`);
    await s.runtime.stop({ force: true });
  });

  it('a missing or broken Localhost profile: the container is not created, the error names the file and the field, nothing is left', async () => {
    writeFileSync(join(profiles, 'broken.json'), '{\n  "defaultAction": "SCMP_ACT_ERRNO",\n  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]\n}\n');
    const with_ = (localhostProfile: string) => pod('broken', [sh('c', 'true', { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile } } })]);
    await expect(start(root, with_('broken.json'))).rejects.toThrow(
      `container "c": securityContext.seccompProfile: the Localhost seccomp profile ${profiles}/broken.json is not valid: ${profiles}/broken.json:3:46: syscalls[0].action: unknown action "SCMP_ACT_ALOW"; did you mean "SCMP_ACT_ALLOW"?`,
    );
    await expect(start(root, with_('nowhere.json'))).rejects.toThrow(
      `container "c": securityContext.seccompProfile: cannot read the Localhost seccomp profile ${profiles}/nowhere.json: no such file`,
    );
  });
});
