// Pod-level containment: pause itself, the pod's securityContext (runAsUser,
// runAsGroup, supplementalGroups, fsGroup), hostNetwork / hostPID / hostIPC,
// and shareProcessNamespace: false with pause as each container's init.

import { chmodSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { pauseBinary } from '../../src/package.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execIn, freshRootPerTest, isRoot, nsInode, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { procStatus } from './containment-harness.js';
import { adoptedOrphan, onTerm, ORPHAN, releaseOrphan } from './fixtures.js';
import { containerPid, exitOf, runToEnd, start } from './pods.js';
import { waitForTrap } from './waits.js';

describe.skipIf(!isRoot)('pod-level containment (root, real kernel)', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('pause keeps no capability, runs as 65535 with no_new_privs, in a mount namespace whose root is empty, from a read-only binary', async () => {
    const s = await start(root, pod('pause-box', [sh('c', 'sleep 30')]));
    const pause = s.runtime.sandbox.pid;
    const st = procStatus(pause);
    expect([st.CapInh, st.CapPrm, st.CapEff, st.CapBnd, st.CapAmb]).toEqual(Array(5).fill('0000000000000000'));
    expect([st.Uid, st.Gid, st.Groups, st.NoNewPrivs]).toEqual(['65535\t65535\t65535\t65535', '65535\t65535\t65535\t65535', '', '1']);
    expect(nsInode(pause, 'mnt')).not.toBe(nsInode(process.pid, 'mnt'));
    expect(readdirSync(`/proc/${pause}/root`)).toEqual([]);
    expect(readFileSync(`/proc/${pause}/environ`, 'utf8')).toBe('');
    expect(readFileSync(`/proc/${pause}/mountinfo`, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(4, 6).join(' '))).toEqual([
      '/ ro,nosuid,nodev,noexec,relatime',
    ]);
    // Its binary: the host's pause, through a detached read-only mount.
    expect(statSync(`/proc/${pause}/exe`).ino).toBe(statSync(pauseBinary).ino);
    expect(() => chmodSync(`/proc/${pause}/exe`, 0o4755)).toThrow(/EROFS/);
    await s.runtime.stop({ force: true });
  });

  it('applies the pod’s runAsUser, runAsGroup, supplementalGroups and fsGroup; a container’s own settings win', async () => {
    const p = pod(
      'ids',
      [
        sh('pod-level', 'id; touch /data/by-pod-level; stat -c "%g %a" /data', { volumeMounts: [{ name: 'data', mountPath: '/data' }] }),
        sh('own', 'id', { securityContext: { runAsUser: 1001, runAsGroup: 1002 } }),
      ],
      [{ name: 'data', emptyDir: {} }],
      { securityContext: { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 2000 } },
    );
    const r = await runToEnd(root, p);
    expect(r.lines('pod-level')).toEqual(['uid=1000 gid=3000 groups=2000,3000,4000', '2000 2777']);
    expect(r.lines('own')).toEqual(['uid=1001 gid=1002 groups=1002,2000,4000']);
  });

  it('owns an emptyDir by fsGroup: setgid, group-writable, files inherit the group', async () => {
    const s = await start(
      root,
      pod('fsgroup', [sh('c', 'echo x > /data/f; sleep 30', { volumeMounts: [{ name: 'data', mountPath: '/data' }] })], [{ name: 'data', emptyDir: {} }], {
        securityContext: { runAsUser: 1000, fsGroup: 2000 },
      }),
    );
    const dir = s.runtime.paths.volume('data');
    await waitFor('the file', () => readdirSync(dir).includes('f'));
    const d = statSync(dir);
    expect([d.gid, d.mode & 0o7777]).toEqual([2000, 0o2777]);
    const f = statSync(join(dir, 'f'));
    expect([f.uid, f.gid]).toEqual([1000, 2000]);
    await s.runtime.stop({ force: true });
  });

  it('takes the primary group and groups of runAsUser from the image’s /etc/passwd and /etc/group', async () => {
    const r = await runToEnd(root, pod('image-ids', [sh('www', 'id', { securityContext: { runAsUser: 33 } }), sh('nobody', 'id', { securityContext: { runAsUser: 1234 } })]));
    // www-data is uid 33, group 33 in busybox's /etc/passwd; 1234 has no entry: gid 0 (containerd's rule).
    expect(r.lines('www')).toEqual(['uid=33(www-data) gid=33(www-data) groups=33(www-data)']);
    expect(r.lines('nobody')).toEqual(['uid=1234 gid=0(root) groups=0(root)']);
  });

  it('hostNetwork: the host’s network and UTS namespaces and name; pause renames nothing', async () => {
    const before = hostname();
    const s = await start(root, pod('on-host-net', [sh('c', 'sleep 30')], [], { hostNetwork: true }));
    const c = containerPid(s, 'c');
    expect(nsInode(c, 'net')).toBe(nsInode(process.pid, 'net'));
    expect(nsInode(c, 'uts')).toBe(nsInode(process.pid, 'uts'));
    expect(nsInode(c, 'ipc')).not.toBe(nsInode(process.pid, 'ipc'));
    expect(nsInode(c, 'pid')).not.toBe(nsInode(process.pid, 'pid'));
    expect((await execIn(c, ['hostname'])).stdout.trim()).toBe(before);
    expect(hostname()).toBe(before);
    await s.runtime.stop({ force: true });
  });

  it('hostPID: the host’s PID namespace, so the container sees this very process', async () => {
    const r = await runToEnd(root, pod('on-host-pid', [sh('c', `test -d /proc/${process.pid} && echo sees-host`)], [], { hostPID: true }));
    expect(r.lines('c')).toEqual(['sees-host']);
  });

  it('hostIPC: the host’s IPC namespace and /dev/shm', async () => {
    const marker = `/dev/shm/peapod-hostipc-${process.pid}`;
    writeFileSync(marker, 'from the host\n');
    try {
      const s = await start(root, pod('on-host-ipc', [sh('c', `cat ${marker}; sleep 30`)], [], { hostIPC: true }));
      const c = containerPid(s, 'c');
      expect(nsInode(c, 'ipc')).toBe(nsInode(process.pid, 'ipc'));
      expect(nsInode(c, 'net')).not.toBe(nsInode(process.pid, 'net'));
      await waitFor('the marker', () => (s.logs.get('c') ?? []).includes('from the host'));
      await s.runtime.stop({ force: true });
    } finally {
      rmSync(marker, { force: true });
    }
  });

  it('shareProcessNamespace: false gives each container its own PID namespace with pause as init, which reaps and exits as the command does', async () => {
    const s = await start(
      root,
      pod(
        'own-pid',
        [
          sh('a', `cat /proc/1/cmdline | tr '\\0' ' '; echo; echo self=$$$$; ls /proc | grep -c '^[0-9]'; sh -c '${ORPHAN}'; sleep 30`),
          sh('b', onTerm('echo got TERM; exit 7')),
          sh('c', 'exit 3'),
        ],
        [],
        { shareProcessNamespace: false },
      ),
    );
    const pause = s.runtime.sandbox.pid;
    const a = containerPid(s, 'a');
    const b = containerPid(s, 'b');
    for (const pid of [a, b]) {
      expect(nsInode(pid, 'pid')).not.toBe(nsInode(pause, 'pid'));
      expect(nsInode(pid, 'net')).toBe(nsInode(pause, 'net'));
    }
    expect(nsInode(a, 'pid')).not.toBe(nsInode(b, 'pid'));
    await waitFor('a’s report', () => (s.logs.get('a') ?? []).length >= 3);
    const [cmdline, self, count] = s.logs.get('a') ?? [];
    expect(cmdline).toMatch(/^pause --init 6 \/usr\/local\/sbin\/sh .* sh -c /);
    expect(self).toBe('self=2');
    // pause (1), the shell (2), ls and grep: nothing of the pod's other containers.
    expect(Number(count)).toBeLessThanOrEqual(4);
    // The orphan goes to pause-as-init (host pid a), which reaps it once it
    // ends: gone from /proc altogether, not left a zombie.
    const orphan = await adoptedOrphan(a, a);
    await releaseOrphan(a);
    await waitFor('the orphan to be reaped', () => !readdirSync('/proc').includes(String(orphan)), 2000);
    expect(await exitOf(s.runtime, 'c')).toEqual({ code: 3 });
    await waitForTrap(b);
    const result = await s.runtime.stop({ gracePeriodSeconds: 5 });
    expect(s.logs.get('b')).toContain('got TERM');
    expect(result.containers.find((x) => x.name === 'b')?.exit).toEqual({ code: 7 });
  });
});
