// One JSON value a line over a stream socket: what the daemon's socket and
// its clients speak.
import type { Socket } from 'node:net';

/** Calls `handle` with each line's value; a line that is not JSON ends the connection through `bad`. */
export function readJsonLines(socket: Socket, handle: (value: unknown) => void, bad: (line: string) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        bad(line);
        return;
      }
      handle(value);
    }
  });
}

/** Writes one value as a line; false when the peer has gone. */
export function writeJsonLine(socket: Socket, value: unknown): boolean {
  if (socket.destroyed || !socket.writable) return false;
  socket.write(`${JSON.stringify(value)}\n`);
  return true;
}
