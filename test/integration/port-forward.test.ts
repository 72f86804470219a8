// peapod port-forward, the real command: it listens on the host's loopback
// and connects inside the pod's network namespace to the pod's own
// localhost (a server there is reachable no other way). Many connections at
// once; Ctrl-C closes everything and exits 0.
import { describe, expect, it } from 'vitest';
import { spawnPeapod, type Running } from './cli-harness.js';
import { freshRootPerTest, isRoot, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { start } from './pods.js';

const forward = (root: TestRoot, args: string[]): Running => spawnPeapod(root, ['port-forward', ...args]);

/** Only the host's loopback is contacted: the forwarder listens there. */
async function get(port: number): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
    return (await res.text()).trim();
  } catch {
    return null;
  }
}

describe.skipIf(!isRoot)('peapod port-forward (root, real kernel)', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('answers 20 parallel requests through it, to a server on the pod\'s own localhost; Ctrl-C closes it with 0', async () => {
    const s = await start(root, pod('pf', [sh('web', 'mkdir -p /www && echo through-the-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www')]));
    const pf = forward(root, ['pod/pf', ':8080']);
    await waitFor('port-forward to listen', () => /Forwarding from 127\.0\.0\.1:\d+ -> 8080/.test(pf.out()), 10_000);
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(pf.out())?.[1]);
    // The server may still be starting: the first answer is waited for.
    await waitFor('the server to answer through it', async () => (await get(port)) === 'through-the-pod', 10_000, 50);
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(port)));
    expect(answers).toEqual(Array(20).fill('through-the-pod'));
    expect(pf.out().match(/Handling connection for \d+/g)?.length).toBeGreaterThanOrEqual(20);

    pf.child.kill('SIGINT');
    expect((await pf.exited).code).toBe(0);
    expect(await get(port)).toBeNull();
    await s.runtime.stop({ force: true });
  });

  it('refuses a bad port with a clear message, and says when nothing listens in the pod', async () => {
    const s = await start(root, pod('pf2', [sh('c', 'sleep 60')]));
    const bad = forward(root, ['pf2', '80:http']);
    expect((await bad.exited).code).toBe(1);
    expect(bad.err()).toContain('"80:http": the remote port must be a number, like 8080:80');
    const pf = forward(root, ['pf2', ':9']);
    await waitFor('port-forward to listen', () => /Forwarding from 127\.0\.0\.1:\d+ -> 9/.test(pf.out()), 10_000);
    const port = Number(/127\.0\.0\.1:(\d+) -> 9/.exec(pf.out())?.[1]);
    expect(await get(port)).toBeNull();
    await waitFor('the error to be said', () => pf.err().includes('an error occurred forwarding'), 5000);
    expect(pf.err()).toMatch(/an error occurred forwarding \d+ -> 9: connect ECONNREFUSED/);
    // The pod ends: port-forward ends too, with 1.
    await s.runtime.stop({ force: true });
    expect((await pf.exited).code).toBe(1);
    expect(pf.err()).toContain('lost connection to pod "pf2"');
  });
});
