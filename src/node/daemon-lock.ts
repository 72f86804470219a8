// One node daemon per state root: it holds a unix socket bound in the
// abstract namespace, named after the root. Binding is exclusive and the
// kernel frees the name when the holder dies, however it dies (as the
// root's lock in root-lock.ts), so a killed daemon never leaves a stale
// lock, and /proc says who holds it.
import { createServer, type Server } from 'node:net';
import { listeningSocket, socketHolder } from './liveness.js';

/** The lock, held until the server is closed; null when another process holds it. */
export function takeDaemonLock(name: string): Promise<Server | null> {
  return new Promise((done, fail) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? done(null) : fail(err)));
    server.listen(name, () => {
      server.unref();
      done(server);
    });
  });
}

/** The pid of the process that holds the lock, or null when nobody does (or it cannot be found). */
export function lockHolder(name: string): number | null {
  // /proc/net/unix shows an abstract name with '@' for its leading NUL.
  const inode = listeningSocket(`@${name.slice(1)}`);
  return inode === null ? null : socketHolder(inode);
}

/** Whether anybody holds the lock now. */
export function lockHeld(name: string): boolean {
  return listeningSocket(`@${name.slice(1)}`) !== null;
}
