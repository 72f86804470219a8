// Whether a node daemon serves a socket: the one question both the CLI's
// client and a starting daemon ask. Kept apart from daemon.ts so a CLI verb
// that only talks to the daemon does not load the pod manager and runtime.
import { createConnection } from 'node:net';
import { readJsonLines, writeJsonLine } from './json-lines.js';

/** Whether a daemon answers on `socket` within `ms`. */
export function daemonAnswers(socket: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = createConnection(socket);
    const timer = setTimeout(() => finish(false), ms);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      conn.destroy();
      resolve(ok);
    };
    conn.on('error', () => finish(false));
    conn.on('connect', () => writeJsonLine(conn, { op: 'hello' }));
    readJsonLines(conn, (v) => finish((v as { ok?: boolean }).ok === true), () => finish(false));
  });
}
