// The red team's escapes (issue 20), each replayed from inside a default
// pod as they made it, on the real kernel: every test failed before its fix.
// What the host must keep: its node and pause binaries as they were (mode,
// mtime, ctime: a chmod or an xattr changes the ctime), its terminal, its
// keyring, its files; and nothing of a test left behind.
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/image/store.js';
import { pauseBinary } from '../../src/package.js';
import type { Pod } from '../../src/manifest/types.js';
import { expectHostUnchanged, probePod, probing, snapshotHost, type HostSnapshot, type Probe, buildProbe } from './containment-harness.js';
import { bin, peapod } from './cli-harness.js';
import { expectNothingLeft, isRoot, makeRoot, pod, sh, waitFor, type TestRoot } from './helpers.js';
import { runDetached, runToEnd, start } from './pods.js';

const x64 = process.arch === 'x64';

/** What a chmod, chown, setxattr or write of a binary would change. */
/**
 * What an escape would change of a host binary: its mode (setuid), owner,
 * size and mtime (its content), and its extended attributes (file
 * capabilities). Not its ctime: a hard link made by anyone else on the host
 * (perf's build-id cache links binaries it profiles) changes that too.
 */
function fingerprint(path: string): string {
  const st = statSync(path);
  const xattrs = execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', '-e', 'hex', path], { encoding: 'utf8' });
  return `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${xattrs.trim()}`;
}

/** The CLI finds images in the store the test's root names. */
const imagesOf = (root: TestRoot): NodeJS.ProcessEnv => ({ PEAPOD_IMAGES: root.paths.images });

/** A python3 one-off (the tests' only way to a host pty and to keyctl without a package). */
function python(script: string, args: string[] = []): string {
  return execFileSync('python3', ['-c', script, ...args], { encoding: 'utf8' });
}

describe.skipIf(!isRoot)('escapes the red team made (issue 20), each refused', () => {
  let probe: Probe;
  let root: TestRoot;
  let host: HostSnapshot;
  let node: string;
  let pause: string;
  let evil: string;
  beforeAll(() => {
    probe = buildProbe();
    // An image "evil": busybox, a script whose interpreter is /proc/self/exe,
    // and a loader planted where the host's node looks for its own.
    evil = mkdtempSync(join(tmpdir(), 'peapod-evil-store-'));
    const image = join(evil, 'evil');
    mkdirSync(image);
    cpSync(resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox').rootfs, join(image, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(image, 'config.json'), JSON.stringify({ cmd: ['sh'], env: ['PATH=/bin'] }));
    writeFileSync(join(image, 'rootfs', 'x.sh'), '#!/proc/self/exe\n', { mode: 0o755 });
    if (x64) {
      mkdirSync(join(image, 'rootfs', 'lib64'), { recursive: true });
      execFileSync('gcc', ['-nostdlib', '-static-pie', '-fPIE', '-O1', '-o', join(image, 'rootfs', 'lib64', 'ld-linux-x86-64.so.2'), join(import.meta.dirname, 'fake-loader.c')]);
    }
  });
  afterAll(() => {
    probe.cleanup();
    rmSync(evil, { recursive: true, force: true });
  });
  beforeEach(() => {
    root = makeRoot();
    host = snapshotHost();
    node = fingerprint(process.execPath);
    pause = fingerprint(pauseBinary);
  });
  afterEach(async () => {
    try {
      // The pods the CLI ran detached are deleted first (runDetached), their supervisors waited for.
      await expectNothingLeft(root);
      expectHostUnchanged(host);
      expect(fingerprint(process.execPath), "the host's node binary").toBe(node);
      expect(fingerprint(pauseBinary), "the host's pause binary").toBe(pause);
    } finally {
      root.cleanup();
    }
  });

  it.skipIf(!x64)('1. a command whose interpreter is /proc/self/exe finds pause, read-only, never the host’s node (CVE-2019-5736)', async () => {
    root.paths = { ...root.paths, images: evil };
    const r = await runToEnd(root, pod('shebang', [{ name: 'c', image: 'evil', command: ['/x.sh'] }]));
    // pause, run as the script's interpreter, refuses its arguments: no loader ran.
    expect(r.result.containers[0]?.exit).toEqual({ code: 2 });
    expect(r.lines('c').join('\n')).not.toContain('LOADER RAN');
    expect(r.lines('c')[0]).toMatch(/^usage: pause/);
  });

  it.skipIf(!x64)('1. the same as a postStart hook, under exec (library and CLI), and /proc/self/exe itself', async () => {
    root.paths = { ...root.paths, images: evil };
    const hooked = await runToEnd(
      root,
      pod('hook', [{ name: 'c', image: 'evil', command: ['sleep', '30'], lifecycle: { postStart: { exec: { command: ['/x.sh'] } } } }]),
    );
    const hookEvent = hooked.runtime.events.events.find((e) => e.reason === 'FailedPostStartHook');
    expect(hookEvent?.message).toMatch(/usage: pause/);
    expect(hookEvent?.message).not.toContain('LOADER RAN');

    const s = await start(root, pod('exec', [{ name: 'c', image: 'evil', command: ['sleep', '30'] }]));
    const out = join(root.dir, 'exec-out');
    const fd = openSync(out, 'w');
    const nul = openSync('/dev/null', 'r');
    try {
      expect(await s.runtime.exec('c', ['/x.sh'], [nul, fd, fd])).toBe(2);
      expect(await s.runtime.exec('c', ['/proc/self/exe', '-v'], [nul, fd, fd])).toBe(0);
    } finally {
      closeSync(fd);
      closeSync(nul);
    }
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain('LOADER RAN');
    expect(text).toMatch(/^usage: pause .*\npeapod-pause \S+\n$/);
    await s.runtime.stop({ force: true });

    // The CLI finds images in the store the root names.
    await runDetached(root, 'cli', pod('cli', [{ name: 'c', image: 'evil', command: ['sleep', '30'] }], [], { restartPolicy: 'Always' }), imagesOf(root));
    const viaCli = await peapod(root, ['exec', 'cli', '--', '/x.sh'], imagesOf(root));
    expect(viaCli.code).toBe(2);
    expect(viaCli.stdout + viaCli.stderr).not.toContain('LOADER RAN');
  });

  it('2. /proc/1/exe of a container with its own PID namespace (pause --init) cannot be changed', async () => {
    const r = await runToEnd(
      root,
      probePod(probe, 'own-pid', [probing(probe, 'c', [['chmod', '/proc/1/exe', '4755'], ['open-write', '/proc/1/exe'], ['readlink', '/proc/1/exe']])], [], { shareProcessNamespace: false }),
    );
    expect(r.lines('c')).toEqual(['chmod: EROFS', expect.stringMatching(/^open-write: (EROFS|ETXTBSY)$/), expect.stringMatching(/^readlink: /)]);
  });

  it('3. exec without -t lends no terminal: TIOCSTI into the one peapod was run from does nothing, then or later', async () => {
    const { record } = await runDetached(root, 'tty', probePod(probe, 'tty', [probing(probe, 'c', [], { command: ['sleep', '60'] })], [], { restartPolicy: 'Always' }), imagesOf(root));
    // The test's own pty, as peapod's controlling terminal (setsid -c), as a root shell's would be.
    const result = JSON.parse(
      python(
        `
import json, os, pty, select, subprocess, sys, time, tty
m, s = pty.openpty()
tty.setraw(s)
container_mnt = os.stat(f'/proc/{sys.argv[1]}/ns/mnt').st_ino
p = subprocess.Popen(['setsid', '-c', *sys.argv[2:]], stdin=s, stdout=s, stderr=s)
out = b''
while p.poll() is None:
    if select.select([m], [], [], 0.05)[0]: out += os.read(m, 65536)
def probes_left():
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            if open(f'/proc/{pid}/comm').read().strip() == 'probe' and os.stat(f'/proc/{pid}/ns/mnt').st_ino == container_mnt: return True
        except OSError: pass
    return False
# The child left behind types 1 s after exec returned: wait until it has ended (10 s at most).
deadline = time.monotonic() + 10
while probes_left() and time.monotonic() < deadline: time.sleep(0.05)
while select.select([m], [], [], 0)[0]: out += os.read(m, 65536)
os.set_blocking(s, False)
try: typed = os.read(s, 4096)
except BlockingIOError: typed = b''
print(json.dumps({'code': p.returncode, 'out': out.decode(), 'typed': typed.decode(), 'left': probes_left()}))
`,
        [String(record.containers.c?.pid), process.execPath, bin, 'exec', 'tty', '--root', root.dir, '--', '/probe/probe', 'tiocsti', 'echo PWNED\n', '--', 'tiocsti-later', 'echo LATER\n', '1000'],
      ),
    ) as { code: number; out: string; typed: string; left: boolean };
    expect(result.code).toBe(0);
    expect(result.left, 'the child left behind is still there').toBe(false);
    expect(result.out.split(/\r?\n/).filter((l) => l !== '')).toEqual([
      'tiocsti 0: ENOTTY',
      'tiocsti 1: ENOTTY',
      'tiocsti 2: ENOTTY',
      'open /dev/tty: ENXIO',
      'tiocsti-later: left behind',
    ]);
    expect(result.typed).toBe('');
  });

  it('4. the host’s keyrings are out of reach, and containers share none', async () => {
    const desc = `peapod-test-${process.pid}-${Date.now()}`;
    // A key in root's user-session keyring: the session keyring of every root
    // process that has none of its own (peapod's, and its children's).
    const id = python(
      `import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall(248, b"user", sys.argv[1].encode(), b"the-host-secret", 15, -5))`,
      [desc],
    ).trim();
    expect(Number(id)).toBeGreaterThan(0);
    try {
      const p = probePod(probe, 'keys', [probing(probe, 'b', [['keys', desc], ['keys', 'peapod-from-a']])]);
      p.spec.initContainers = [probing(probe, 'a', [['add-key', 'peapod-from-a', 'hello'], ['keys', desc]])];
      const r = await runToEnd(root, p);
      const all = [...r.lines('a'), ...r.lines('b')];
      expect(all.join('\n')).not.toContain('found');
      const searches = all.filter((l) => l.startsWith('search '));
      expect(searches).toHaveLength(9);
      for (const l of searches) expect(l).toMatch(/^search [a-z-]+: (ENOKEY|EPERM)$/);
    } finally {
      python(`import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall(250, 3, int(sys.argv[1]))`, [id]); // KEYCTL_REVOKE
    }
  });

  it('6. mount destinations through /proc/self/root or a link planted in /dev/shm are refused; nothing is made on the host', async () => {
    const on = (what: string): string => join(tmpdir(), `peapod-escape-${what}-${process.pid}-${Date.now()}`);
    const [viaMount, viaTermination, viaMagic, viaAbsolute] = ['mount', 'termlog', 'magic', 'abs'].map(on) as [string, string, string, string];
    const refused = async (p: Pod, message: RegExp): Promise<void> => {
      await expect(start(root, p)).rejects.toThrow(message);
    };
    await refused(pod('m', [sh('c', 'true', { volumeMounts: [{ name: 'v', mountPath: `/proc/self/root${viaMount}/x` }] })], [{ name: 'v', emptyDir: {} }]), /volumeMounts\[0\] \(v\)\.mountPath: .* is under \/proc; peapod refuses/);
    await refused(pod('t', [sh('c', 'true', { terminationMessagePath: `/proc/self/root${viaTermination}` })]), /terminationMessagePath: .* is under \/proc/);
    // An init container plants links in the pod's /dev/shm; the app's mounts go through them.
    const p = pod('planted', [
      sh('magic', 'true', { volumeMounts: [{ name: 'v', mountPath: '/dev/shm/magic/x' }] }),
      sh('abs', 'true', { volumeMounts: [{ name: 'v', mountPath: '/dev/shm/abs/x' }] }),
    ], [{ name: 'v', emptyDir: {} }], { restartPolicy: 'Always' });
    p.spec.initContainers = [sh('plant', `ln -s /proc/self/root${viaMagic} /dev/shm/magic; ln -s ${viaAbsolute} /dev/shm/abs`)];
    const s = await start(root, p).catch((err: Error) => err);
    if (!(s instanceof Error)) {
      await waitFor('both refused', () => ['magic', 'abs'].every((c) => s.runtime.containers.get(c)?.status().state.waiting?.reason === 'CreateContainerError'), 10_000);
      for (const c of ['magic', 'abs']) {
        expect(s.runtime.containers.get(c)?.status().state.waiting?.message).toMatch(new RegExp(`^${c}: open beneath /dev/shm: ${c}/x: (EXDEV|ELOOP|ENOENT)`));
      }
      await s.runtime.stop({ force: true });
    } else {
      expect(s.message).toMatch(/^(magic|abs): open beneath \/dev\/shm: (magic|abs)\/x: (EXDEV|ELOOP|ENOENT)/);
    }
    for (const path of [viaMount, viaTermination, viaMagic, viaAbsolute]) expect(existsSync(path), path).toBe(false);
  });

  it('7. no process shows in the pod before it is in the container’s mount namespace: /proc/PID/root never leads to the host', async () => {
    const secretDir = mkdtempSync(join(tmpdir(), 'peapod-hostsecret-'));
    writeFileSync(join(secretDir, 'secret'), 'host');
    try {
      const p = probePod(probe, 'watched', [
        probing(probe, 'watcher', [['watch-roots', join(secretDir, 'secret'), '4000']], { securityContext: { capabilities: { add: ['SYS_PTRACE'] } } }),
        sh('target', 'sleep 60'),
      ]);
      const s = await start(root, p);
      const nul = openSync('/dev/null', 'r+');
      try {
        // Execs and hooks are born while the watcher looks (the container starts above were too).
        for (let i = 0; i < 25; i++) {
          await s.runtime.exec('target', ['true'], [nul, nul, nul]);
          await s.runtime.exec('watcher', ['true'], [nul, nul, nul]);
        }
      } finally {
        closeSync(nul);
      }
      await waitFor('the watcher to finish', () => s.logs.get('watcher')?.some((l) => l.startsWith('watch-roots:')) === true, 10_000);
      expect(s.logs.get('watcher')).toEqual(['watch-roots: many scans, 0 leaks']);
      await s.runtime.stop({ force: true });
    } finally {
      rmSync(secretDir, { recursive: true, force: true });
    }
  });

  it('9. exec -t opens the container’s own devpts, never a path its process steered by chroot', async () => {
    const victimDir = mkdtempSync(join(tmpdir(), 'peapod-victim-'));
    const victim = join(victimDir, 'file');
    writeFileSync(victim, 'untouched');
    const before = fingerprint(victim);
    try {
      const script = `mkdir -p /evil/dev/pts /evil/bin && cp /bin/busybox /evil/bin/ && ln -s busybox /evil/bin/sleep && ln -s ${victim} /evil/dev/pts/ptmx && exec chroot /evil /bin/sleep 60`;
      const { record } = await runDetached(root, 'chrooted', pod('chrooted', [sh('c', script)], [], { restartPolicy: 'Always' }), imagesOf(root));
      // Once its process has chrooted into the planted tree.
      const rootOf = (): string => {
        try {
          return readlinkSync(`/proc/${record.containers.c?.pid}/root`);
        } catch {
          return '';
        }
      };
      await waitFor('the container to chroot', () => rootOf() === '/evil', 10_000);
      const r = await peapod(root, ['exec', '-t', 'chrooted', '--', 'tty'], imagesOf(root));
      expect(r).toEqual({ code: 0, stdout: '/dev/pts/0\r\n', stderr: '' });
      expect(readFileSync(victim, 'utf8')).toBe('untouched');
      expect(fingerprint(victim)).toBe(before);
    } finally {
      rmSync(victimDir, { recursive: true, force: true });
    }
  });
});
