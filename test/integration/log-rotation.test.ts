// Log rotation by size: 50 MB of output through a 1 MB limit, and
// `peapod logs` still returns every line once, in order.
import { execFile, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PodWorker } from '../../src/kubelet/pod-worker.js';
import { freshRootPerTest, isRoot, pod, sh, type TestRoot } from './helpers.js';

const execFileP = promisify(execFile);
const LINES = 50_000;

describe.skipIf(!isRoot)('log rotation', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('rotates at the size limit without losing or repeating a line', async () => {
    // 50 000 numbered lines of 1 000 bytes: 50 MB.
    const script = `awk 'BEGIN { pad = sprintf("%990s", ""); gsub(/ /, "x", pad); for (i = 1; i <= ${LINES}; i++) printf "%08d %s\\n", i, pad }'; echo done; sleep 60`;
    const runtime = await PodWorker.start(pod('chatty', [sh('c', script)], [], { restartPolicy: 'Never' }), {
      paths: root.paths,
      logRotation: { maxBytes: 1024 * 1024, maxFiles: 1000 },
    });
    root.runtimes.push(runtime);
    root.pids.add(runtime.sandbox.pid);
    const log = runtime.paths.log('c', 0);
    // One `peapod logs --tail 1` at a time until the last line is there.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { stdout } = await execFileP(process.execPath, ['bin/peapod.js', 'logs', 'chatty', '--root', root.dir, '--tail', '1']);
      if (stdout === 'done\n') break;
      if (Date.now() > deadline) throw new Error(`output not complete after 30 s: last line ${stdout.slice(0, 20)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const files = readdirSync(dirname(log));
    expect(files.length).toBeGreaterThanOrEqual(45);
    const { stdout } = await execFileP(process.execPath, ['bin/peapod.js', 'logs', 'chatty', '--root', root.dir], { maxBuffer: 128 << 20 });
    const lines = stdout.split('\n').filter((l) => l !== '' && l !== 'done');
    expect(lines.length).toBe(LINES);
    lines.forEach((l, i) => {
      if (Number(l.slice(0, 8)) !== i + 1) throw new Error(`line ${i + 1} is "${l.slice(0, 20)}..."`);
    });
    expect(join(dirname(log), files[0] as string)).toContain('0.log');
    await runtime.stop({ force: true });
  }, 60_000);

  it('logs -f follows every line through many rotations between two looks', async () => {
    const runtime = await PodWorker.start(pod('burst', [sh('c', 'sleep 1; i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo line-$i; done; sleep 30')], [], { restartPolicy: 'Never' }), {
      paths: root.paths,
      logRotation: { maxBytes: 300, maxFiles: 100000 },
    });
    root.runtimes.push(runtime);
    root.pids.add(runtime.sandbox.pid);
    const follow = spawn(process.execPath, ['bin/peapod.js', 'logs', 'burst', '-f', '--root', root.dir]);
    let out = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!out.includes('line-3000\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const lines = out.split('\n').filter(Boolean);
    expect(lines).toEqual(Array.from({ length: 3000 }, (_, i) => `line-${i + 1}`));
    await runtime.stop({ force: true });
    await new Promise<void>((resolve) => (follow.exitCode !== null ? resolve() : follow.on('exit', () => resolve())));
  }, 40_000);
});
