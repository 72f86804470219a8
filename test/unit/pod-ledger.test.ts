import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { admittedPods, enterPod, leavePod } from '../../src/node/pod-ledger.js';
import { podPaths, prepareRoots, runtimePaths } from '../../src/runtime/paths.js';
import { writeRecord } from '../../src/node/state.js';
import type { Pod, PodSpec } from '../../src/manifest/types.js';

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

  it('lists the root only when something besides its own pods is there: a pod of another process is still counted', () => {
    for (const n of ['a', 'b']) mkdirSync(podPaths(paths, n).state, { recursive: true });
    enterPod(paths, 'a', spec('1Gi'));
    enterPod(paths, 'b', spec('2Gi'));
    expect(admittedPods(paths, 'c').map((p) => p.name)).toEqual(['a', 'b']);
    // A detached pod of the node daemon (counted while no daemon runs), beside them.
    const x = podPaths(paths, 'x');
    mkdirSync(x.state, { recursive: true });
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: spec('3Gi') } as Pod;
    writeRecord(x.recordFile, { owner: 'daemon', name: 'x', uid: 'u', createdAt: '', supervisor: { pid: 0, startTime: 0 }, containers: {}, dataDir: x.data, pod });
    expect(admittedPods(paths, 'c')).toEqual([
      { name: 'a', spec: spec('1Gi') },
      { name: 'b', spec: spec('2Gi') },
      { name: 'x', spec: spec('3Gi') },
    ]);
    // A claim under way (a hidden directory) makes it list too; it is no pod.
    rmSync(x.state, { recursive: true });
    mkdirSync(join(paths.state, 'pods', '.claim-1-2-x'));
    expect(admittedPods(paths, 'c').map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('keeps roots apart', () => {
    enterPod(paths, 'a', spec('1Gi'));
    const other = runtimePaths({ root: join(dir, 'other') });
    expect(admittedPods(other, 'x')).toEqual([]);
  });
});
