// A supervisor killed while pause is being made (issue 19, item 3): pause's
// spawn child is mid-plan (joining its cgroup, the slow part) when its
// parent dies. PR_SET_PDEATHSIG is its first step and is followed by a
// check of who the parent is, so the child ends itself; before, it went on
// to exec pause, which outlived the supervisor with no record.
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, peapod } from './cli-harness.js';
import { freshRootPerTest, isRoot, stopDaemon, type TestRoot, waitFor } from './helpers.js';
import { childrenOf, readOr } from './proc.js';
import { waitForExit } from './waits.js';

describe.skipIf(!isRoot)('a supervisor killed while its pod is being made', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('takes the half-made pause with it, 30 times out of 30 (killed the moment pause’s spawn child exists)', async () => {
    const file = join(root.dir, 'p.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: busybox, command: [sleep, "60"]}\n');
    let caught = 0;
    for (let i = 0; i < 30; i++) {
      const run = spawn(process.execPath, [bin, 'run', '-f', file, '--root', root.dir], { stdio: 'ignore' });
      const exited = new Promise((resolve) => run.on('exit', resolve));
      const supervisor = run.pid as number;
      // Spin until the supervisor's first child (pause's spawn child, still
      // a clone of node) exists, then kill the supervisor at once.
      let child: number | undefined;
      const deadline = Date.now() + 10_000;
      while (child === undefined && Date.now() < deadline && run.exitCode === null) child = childrenOf(supervisor)[0];
      process.kill(supervisor, 'SIGKILL');
      await exited;
      if (child === undefined) continue;
      root.pids.add(child);
      // Caught before its exec, it is still node; after, it is pause.
      if (readOr(`/proc/${child}/comm`).trim() !== 'pause') caught++;
      await waitForExit(child, `the child ${child} of the killed supervisor to end`, 2000);
    }
    // Most kills land mid-plan, none may leave a pause behind.
    expect(caught).toBeGreaterThan(10);
    // What the crashes left (state, the pod's /dev/shm mount) the next run
    // reclaims; then that pod is deleted.
    await peapod(root, ['run', '-d', '-f', file]);
    await peapod(root, ['delete', 'pod', 'p', '--force']);
    // (run -d gave it to the node daemon, which stops now that it holds nothing.)
    await stopDaemon(root);
    await waitFor('its supervisor to exit', () => !readdirSync('/proc').some((p) => /^\d+$/.test(p) && readOr(`/proc/${p}/cmdline`).includes(root.dir)), 5000);
  }, 120_000);
});
