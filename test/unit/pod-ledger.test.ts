import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { admittedPods, enterPod, leavePod } from '../../src/node/pod-ledger.js';
import { prepareRoots, runtimePaths } from '../../src/runtime/paths.js';
import type { PodSpec } from '../../src/manifest/types.js';

const spec = (memory: string): PodSpec => ({ containers: [{ name: 'c', image: 'busybox', resources: { requests: { memory } } }] }) as PodSpec;

describe('the pod ledger: admission counts this process’s pods from memory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peapod-ledger-'));
  const paths = runtimePaths({ root: dir });
  prepareRoots(paths);
  afterEach(() => {
    for (const n of ['a', 'b']) leavePod(paths, n);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('counts a pod held here with no file read (none exists), never the pod being admitted, and forgets it when it leaves', () => {
    enterPod(paths, 'a', spec('1Gi'));
    enterPod(paths, 'b', spec('2Gi'));
    expect(admittedPods(paths, 'b')).toEqual([{ name: 'a', spec: spec('1Gi') }]);
    leavePod(paths, 'a');
    expect(admittedPods(paths, 'c').map((p) => p.name)).toEqual(['b']);
  });

  it('keeps roots apart', () => {
    enterPod(paths, 'a', spec('1Gi'));
    const other = runtimePaths({ root: join(dir, 'other') });
    expect(admittedPods(other, 'x')).toEqual([]);
  });
});
