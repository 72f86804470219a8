// Container logs under pressure: `logs -f` through a flood that rotates the
// file many times between two of its looks (every line, once, in order), the
// number of files a rotation keeps, and the logs of old instances pruned as
// the kubelet prunes them (the current and the previous stay).
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peapod, spawnPeapod } from './cli-harness.js';
import { freshRootPerTest, isRoot, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { runDetached, start } from './pods.js';

const LINES = 200_000;

describe.skipIf(!isRoot)('logs under pressure', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it(`logs -f sees all ${LINES} lines of a flood, in order, through 1 MiB rotations keeping 5 files`, async () => {
    const yaml = `apiVersion: v1
kind: Pod
metadata: {name: flood}
spec:
  restartPolicy: Never
  volumes: [{name: v, emptyDir: {}}]
  containers:
  - name: c
    image: busybox
    volumeMounts: [{name: v, mountPath: /v}]
    command: [sh, -c, 'echo ready; until [ -e /v/go ]; do sleep 0.02; done; awk ''BEGIN { pad = sprintf("%100s", ""); gsub(/ /, "x", pad); for (i = 1; i <= ${LINES}; i++) printf "%06d %s\\n", i, pad }''; echo done; sleep 600']
`;
    const env = { PEAPOD_LOG_MAX_BYTES: String(1 << 20), PEAPOD_LOG_MAX_FILES: '5' };
    await runDetached(root, 'flood', yaml, env);
    const follow = spawnPeapod(root, ['logs', 'flood', '-f']);
    const chunks: string[] = [];
    let tail = '';
    follow.child.stdout?.on('data', (d: string) => {
      chunks.push(d);
      tail = (tail + d).slice(-64);
    });
    await waitFor('logs -f to show the first line', () => chunks.join('').startsWith('ready\n'), 10_000);
    writeFileSync(join(root.dir, 'pods', 'flood', 'volumes', 'v', 'go'), '');
    await waitFor('the last line', () => tail.endsWith('done\n'), 40_000);
    const lines = chunks.join('').split('\n');
    expect(lines.shift()).toBe('ready');
    expect(lines.splice(-2)).toEqual(['done', '']);
    const pad = 'x'.repeat(100);
    const firstWrong = lines.findIndex((l, i) => l !== `${String(i + 1).padStart(6, '0')} ${pad}`);
    expect({ seen: lines.length, firstWrong }).toEqual({ seen: LINES, firstWrong: -1 });
    // The limit counts the live file: 5 files, the live one and 4 rotated.
    expect(readdirSync(join(root.dir, 'pods', 'flood', 'logs', 'c'))).toHaveLength(5);
    expect(await peapod(root, ['delete', 'pod', 'flood', '--force'])).toMatchObject({ code: 0 });
    await follow.exited;
  }, 90_000);

  it('keeps the logs of the current and the previous instance only', async () => {
    // Five quick failures, then a run that stays.
    const script = 'n=$(cat /v/n 2>/dev/null || echo 0); echo $((n+1)) > /v/n; echo run $n; [ $n -ge 5 ] && exec sleep 600; exit 1';
    const { runtime } = await start(root, pod('crashy', [sh('c', script, { volumeMounts: [{ name: 'v', mountPath: '/v' }] })], [{ name: 'v', emptyDir: {} }], { restartPolicy: 'Always' }), {
      backoff: { baseSeconds: 0, capSeconds: 0, resetSeconds: 600 },
    });
    const c = runtime.containers.get('c')!;
    await waitFor('the sixth run', () => c.obs.restartCount === 5 && c.running, 20_000);
    root.pids.add(c.pid);
    await waitFor('its first line logged', () => readdirSync(join(root.dir, 'pods', 'crashy', 'logs', 'c')).includes('5.log'));
    expect(readdirSync(join(root.dir, 'pods', 'crashy', 'logs', 'c')).sort()).toEqual(['4.log', '5.log']);
    const previous = await peapod(root, ['logs', 'crashy', '--previous']);
    expect(previous).toMatchObject({ code: 0, stdout: 'run 4\n' });
    await runtime.stop({ force: true });
  }, 40_000);
});
