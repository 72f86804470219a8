// Operating pods from another terminal: run -d, get, describe, logs, exec,
// delete, each a separate peapod process, as a user would type them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { podPaths } from '../../src/runtime/paths.js';
import { bin, manifest, peapod, spawnPeapod, trackRecord } from './cli-harness.js';
import { onTerm } from './fixtures.js';
import { freshRootPerTest, isAlive, isRoot, nsInode, type TestRoot, waitFor } from './helpers.js';
import { deleteAtEnd, runDetached } from './pods.js';
import { readOr } from './proc.js';
import { linesOf, waitForLine } from './waits.js';

const execFileP = promisify(execFile);

const WEB = `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - name: ticker
    image: busybox
    command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done']
  - name: stubborn
    image: busybox
    command: [sh, -c, '${onTerm('echo ignoring TERM')}']
`;

describe.skipIf(!isRoot)('peapod verbs from another terminal', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('run -d, get, describe, logs -f, exec, delete --grace-period 2, then NotFound', async () => {
    const { record } = await runDetached(root, 'web', WEB);

    const get = await peapod(root, ['get', 'pods']);
    expect(get.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    expect(get.stdout).toMatch(/^web\s+2\/2\s+Running\s+0\s+\d+s$/m);

    const json = JSON.parse((await peapod(root, ['get', 'pod', 'web', '-o', 'json'])).stdout);
    expect(json).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, status: { phase: 'Running' } });
    // What the status says runs, the kernel shows running, in pause's namespaces.
    for (const c of json.status.containerStatuses) {
      expect(c.state).toEqual({ running: { startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/) } });
      expect(Date.parse(c.state.running.startedAt)).toBeGreaterThanOrEqual(Date.parse(json.metadata.creationTimestamp));
      const pid = record.containers[c.name]!.pid;
      expect(isAlive(pid)).toBe(true);
      expect(nsInode(pid, 'net')).toBe(nsInode(record.sandbox.pid, 'net'));
    }
    expect((await peapod(root, ['get', 'pods', '-o', 'name'])).stdout).toBe('pod/web\n');
    expect((await peapod(root, ['get', 'pods', '-o', 'yaml'])).stdout).toMatch(/^apiVersion: v1\nkind: List\nitems:\n/);

    const describe = (await peapod(root, ['describe', 'pod', 'web'])).stdout;
    expect(describe).toMatch(/^Name:\s+web$/m);
    expect(describe).toMatch(/^Status:\s+Running$/m);
    expect(describe).toMatch(/^ {2}ticker:$/m);
    expect(describe).toMatch(/Normal\s+Started\s+\S+\s+peapod spec\.containers\{ticker\}\s+Started container ticker/);

    const noC = await peapod(root, ['logs', 'web']);
    expect(noC.code).not.toBe(0);
    expect(noC.stderr).toContain('a container name must be specified for pod web, choose one of: [ticker stubborn]');
    // logs -f sees a line printed after it started.
    const follow = spawnPeapod(root, ['logs', 'web', '-c', 'ticker', '-f']);
    await waitFor('a few lines', () => /tick \d+\n/.test(follow.out()), 5000);
    const last = Math.max(...[...follow.out().matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    await waitForLine('logs -f', () => linesOf(follow.out()), `tick ${last + 2}`);
    const tail = await peapod(root, ['logs', 'web', '-c', 'ticker', '--tail', '1', '--timestamps']);
    expect(tail.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z tick \d+\n$/);

    const seven = await peapod(root, ['exec', 'web', '-c', 'ticker', '--', 'sh', '-c', 'echo in $(hostname); exit 7']);
    expect(seven).toMatchObject({ code: 7, stdout: 'in web\n' });
    const missing = await peapod(root, ['exec', 'web', '-c', 'ticker', '--', 'no-such-command']);
    expect(missing.code).toBe(127);
    // -t: a terminal of the container's own devpts (its output comes back with CRLF, as from any tty).
    const tty = await peapod(root, ['exec', '-t', 'web', '-c', 'ticker', '--', 'sh', '-c', 'tty; stty size; exit 4']);
    expect(tty).toMatchObject({ code: 4, stdout: '/dev/pts/0\r\n24 80\r\n' });

    const t0 = Date.now();
    const del = await peapod(root, ['delete', 'pod', 'web', '--grace-period', '2']);
    const seconds = (Date.now() - t0) / 1000;
    expect(del).toMatchObject({ code: 0, stdout: 'pod "web" deleted\n' });
    expect(seconds).toBeGreaterThanOrEqual(1.9);
    expect(seconds).toBeLessThan(5);
    await follow.exited;
    const gone = await peapod(root, ['get', 'pod', 'web']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('Error from server (NotFound): pods "web" not found\n');
    const stopped = await peapod(root, ['exec', 'web', '--', 'true']);
    expect(stopped.code).not.toBe(0);
  }, 40_000);

  it('run -d outlives the shell that launched it; delete ends it', async () => {
    const file = manifest(root, 'web', WEB);
    deleteAtEnd(root, 'web');
    // The launching shell exits at once; the pod must not go with it.
    const shell = await execFileP('sh', ['-c', `"${process.execPath}" "${bin}" run -d -f "${file}" --root "${root.dir}"; echo shell-done`]);
    expect(shell.stdout).toBe('pod/web\nshell-done\n');
    const record = trackRecord(root, 'web');
    // The shell is gone: the pod goes on ticking after it.
    const log = podPaths(root.paths, 'web').log('ticker', 0);
    const ticks = (): number[] => [...readOr(log).matchAll(/ tick (\d+)$/gm)].map((m) => Number(m[1]));
    const atExit = Math.max(0, ...ticks());
    await waitFor('two more ticks after the shell exited', () => ticks().includes(atExit + 2));
    expect(isAlive(record.supervisor.pid)).toBe(true);
    expect(isAlive(record.sandbox.pid)).toBe(true);
    expect((await peapod(root, ['delete', 'pod', 'web', '--force'])).code).toBe(0);
  }, 20_000);

  it('run -d reports a pod that cannot start, with a non-zero exit and nothing left', async () => {
    const bad = await peapod(root, ['run', '-d', '-f', manifest(root, 'bad', `apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
  - {name: a, image: busybox, command: [no-such-command]}
`)]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/container "a": cannot run \["no-such-command"\]/);
  });
});
