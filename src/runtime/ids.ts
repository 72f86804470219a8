// Sandbox and container IDs as containerd makes them: 32 random bytes in
// hex. Drawn from a pool filled for 32 IDs at a time: a call to the
// system's random source costs more than the hex of one ID.
import { randomFillSync } from 'node:crypto';

const ID_BYTES = 32;
const pool = Buffer.alloc(ID_BYTES * 32);
let next = pool.length;

export function newId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const id = pool.toString('hex', next, next + ID_BYTES);
  next += ID_BYTES;
  return id;
}
