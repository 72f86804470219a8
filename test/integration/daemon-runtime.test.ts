// Sandboxes made on the daemon's shared runtime by a server it hosts (the
// CRI's way: RunPodSandbox, CreateContainer, StartContainer, no pod worker)
// outlive the daemon too: their facts are saved beside the daemon, and the
// next daemon's runtime lists them again, the same pause and container,
// until RemovePodSandbox forgets them.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonPaths } from '../../src/node/daemon-paths.js';
import { reaperBinary } from '../../src/package.js';
import { freshRootPerTest, isAlive, isRoot, type TestRoot, waitFor } from './helpers.js';

interface Listed {
  before: { sandboxes: Array<{ id: string; state: string; pid: number }>; containers: Array<{ id: string; state: string; pid: number }> };
  made?: { id: string; cid: string; pause: number; pid: number };
  after: Listed['before'];
}

/** The fixture daemon under a reaper of its own, as `peapod daemon` runs one; resolves with its pid once it serves. */
async function fixtureDaemon(root: TestRoot, mode: 'make' | 'list' | 'remove'): Promise<{ pid: number; out: string }> {
  const out = join(root.dir, `${mode}.json`);
  const log = join(daemonPaths(root.paths).reapers, `${mode}.log`);
  const reapers = daemonPaths(root.paths).reapers;
  if (!existsSync(reapers)) await import('node:fs').then((fs) => fs.mkdirSync(reapers, { recursive: true, mode: 0o700 }));
  const child = spawn(reaperBinary, [log, process.execPath, join(process.cwd(), 'test', 'fixtures', 'runtime-server.mjs'), root.dir, out, mode], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PEAPOD_REAPER_LOG: log },
  });
  root.pids.add(child.pid as number);
  let said = '';
  child.stderr?.on('data', (d: Buffer) => (said += d.toString()));
  await waitFor('the fixture daemon to serve', () => /serving \d+/.test(said) && existsSync(out), 20_000);
  return { pid: Number(/serving (\d+)/.exec(said)?.[1]), out };
}

describe.skipIf(!isRoot)('sandboxes a server on the daemon makes itself', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('survive a SIGKILL of the daemon and are listed again by the next one; RemovePodSandbox forgets them', async () => {
    const first = await fixtureDaemon(root, 'make');
    const made = (JSON.parse(readFileSync(first.out, 'utf8')) as Listed).made!;
    root.pids.add(made.pause).add(made.pid);
    expect(readdirSync(daemonPaths(root.paths).sandboxes)).toEqual([`${made.id}.json`]);
    process.kill(first.pid, 'SIGKILL');
    await waitFor('the daemon gone', () => !isAlive(first.pid));
    expect(isAlive(made.pause) && isAlive(made.pid)).toBe(true);

    const second = await fixtureDaemon(root, 'list');
    const listed = JSON.parse(readFileSync(second.out, 'utf8')) as Listed;
    expect(listed.before.sandboxes).toEqual([expect.objectContaining({ id: made.id, state: 'SANDBOX_READY', pid: made.pause })]);
    expect(listed.before.containers).toEqual([expect.objectContaining({ id: made.cid, state: 'CONTAINER_RUNNING', pid: made.pid })]);
    process.kill(second.pid, 'SIGTERM');
    await waitFor('the daemon stopped', () => !isAlive(second.pid), 10_000);

    const third = await fixtureDaemon(root, 'remove');
    const removed = JSON.parse(readFileSync(third.out, 'utf8')) as Listed;
    expect(removed.after).toEqual({ sandboxes: [], containers: [] });
    expect(readdirSync(daemonPaths(root.paths).sandboxes)).toEqual([]);
    await waitFor('its processes gone', () => !isAlive(made.pause) && !isAlive(made.pid), 5000);
    process.kill(third.pid, 'SIGTERM');
    await waitFor('the daemon stopped', () => !isAlive(third.pid), 10_000);
  }, 60_000);
});
