// Log rotation by size: 50 MB of output through a 1 MB limit, and
// `peapod logs` still returns every line once, in order.
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peapod, spawnPeapod } from './cli-harness.js';
import { freshRootPerTest, isRoot, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { start } from './pods.js';
import { linesOf, waitForLine } from './waits.js';
const LINES = 50_000;

describe.skipIf(!isRoot)('log rotation', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('rotates at the size limit without losing or repeating a line', async () => {
    // 50 000 numbered lines of 1 000 bytes: 50 MB.
    const script = `awk 'BEGIN { pad = sprintf("%990s", ""); gsub(/ /, "x", pad); for (i = 1; i <= ${LINES}; i++) printf "%08d %s\\n", i, pad }'; echo done; sleep 60`;
    const { runtime } = await start(root, pod('chatty', [sh('c', script)], [], { restartPolicy: 'Never' }), { logRotation: { maxBytes: 1024 * 1024, maxFiles: 1000 } });
    const log = runtime.paths.log('c', 0);
    // One `peapod logs --tail 1` at a time until the last line is there.
    await waitFor('the last line through logs --tail 1', async () => (await peapod(root, ['logs', 'chatty', '--tail', '1'])).stdout === 'done\n', 30_000, 300);
    const files = readdirSync(dirname(log));
    expect(files.length).toBeGreaterThanOrEqual(45);
    const { stdout } = await peapod(root, ['logs', 'chatty']);
    const lines = stdout.split('\n').filter((l) => l !== '' && l !== 'done');
    expect(lines.length).toBe(LINES);
    lines.forEach((l, i) => {
      if (Number(l.slice(0, 8)) !== i + 1) throw new Error(`line ${i + 1} is "${l.slice(0, 20)}..."`);
    });
    expect(join(dirname(log), files[0] as string)).toContain('0.log');
    await runtime.stop({ force: true });
  }, 60_000);

  it('logs -f follows every line through many rotations between two looks', async () => {
    // The burst starts once logs -f has shown the first line: it is following then.
    const script = 'echo ready; until [ -e /v/go ]; do sleep 0.02; done; i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo line-$i; done; sleep 30';
    const { runtime } = await start(root, pod('burst', [sh('c', script, { volumeMounts: [{ name: 'v', mountPath: '/v' }] })], [{ name: 'v', emptyDir: {} }], { restartPolicy: 'Never' }), {
      logRotation: { maxBytes: 300, maxFiles: 100000 },
    });
    const follow = spawnPeapod(root, ['logs', 'burst', '-f']);
    await waitForLine('logs -f', () => linesOf(follow.out()), 'ready', 10_000);
    writeFileSync(join(runtime.paths.volume('v'), 'go'), '');
    await waitForLine('logs -f', () => linesOf(follow.out()), 'line-3000', 20_000);
    expect(linesOf(follow.out())).toEqual(['ready', ...Array.from({ length: 3000 }, (_, i) => `line-${i + 1}`)]);
    await runtime.stop({ force: true });
    await follow.exited;
  }, 40_000);
});
