// One peapod at a time may claim or reclaim a pod's name under a state
// root. The lock is a unix socket bound in the abstract namespace: binding
// is exclusive, and the kernel frees it when its holder dies, however it
// dies, so a crashed peapod never leaves a stale lock behind. (The abstract
// namespace belongs to the network namespace: every peapod of a root runs
// in the host's.) It is held for the few renames of a claim or a reclaim,
// never while a pod runs.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';

const WAIT_MS = 30_000;

export class RootLockTimeout extends Error {
  override name = 'RootLockTimeout';
}

function listen(name: string): Promise<Server | null> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? done(null) : fail(err)));
    server.listen(name, () => {
      server.unref();
      done(server);
    });
  });
}

/** Runs `fn` holding the lock of the state root `stateRoot`. */
export async function withRootLock<T>(stateRoot: string, fn: () => T | Promise<T>): Promise<T> {
  const name = `\0peapod-root-${createHash('sha256').update(resolve(stateRoot)).digest('hex').slice(0, 32)}`;
  const deadline = Date.now() + WAIT_MS;
  let pause = 1;
  let server: Server | null;
  while (!(server = await listen(name))) {
    if (Date.now() > deadline) {
      throw new RootLockTimeout(`another peapod has held the lock of ${stateRoot} for ${WAIT_MS / 1000} s; is one stopped (SIGSTOP) or stuck? Try again once it is gone`);
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 20);
  }
  try {
    return await fn();
  } finally {
    server.close();
  }
}
