// A container's stdout and stderr, as its log reads them.
//
// A foreground pod's are pipes: this process holds the read ends, and the
// pod dies with it anyway. A detached pod (the node daemon's) must outlive
// the process that reads its output: a pipe whose only reader died answers
// the next write with SIGPIPE, which would kill the container the moment
// the daemon did. So its output goes through two named pipes beside the
// container's directory, and the container holds each one open read-write:
// there is always a reader (the container itself), so a write never fails;
// while no daemon reads, the pipe's buffer (64 KiB) fills and then the
// writer waits, and the next daemon opens the same pipes by name and reads
// on where the last one stopped. No process sits beside the container to
// keep its output (conmon's job in podman). What a container wrote and did
// not get read before it exited while no daemon ran is lost with the pipe.
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { mkfifo, pipe } from '../native/addon.js';
import { MODE } from './modes.js';

export interface StdioFifos {
  stdout: string;
  stderr: string;
}

/** What a container's process is started with, and what its log reads. */
export interface ContainerStdio {
  /** stdout and stderr for the spawn (stdin is the caller's). */
  out: number;
  err: number;
  /** The read ends, for the log. */
  readers: { stdout: number; stderr: number };
  /** Named pipes (detached), to be opened again by the next daemon. */
  fifos?: StdioFifos;
}

/** The named pipes of one container instance, in its directory. */
export function fifoPaths(dir: string, containerId: string): StdioFifos {
  const base = join(dir, containerId.slice(0, 16));
  return { stdout: `${base}.stdout`, stderr: `${base}.stderr` };
}

function openReader(path: string): number {
  // O_NONBLOCK: opening a named pipe's read end must not wait for a writer.
  return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
}

/**
 * Opens a container's stdio: pipes, or (detached) its named pipes, made in
 * `dir`. The write ends (`out`, `err`) are the caller's to close once the
 * child has them.
 */
export function openStdio(detached: boolean, dir: string, containerId: string): ContainerStdio {
  if (!detached) {
    const [outR, outW] = pipe();
    const [errR, errW] = pipe();
    return { out: outW, err: errW, readers: { stdout: outR, stderr: errR } };
  }
  const fifos = fifoPaths(dir, containerId);
  const opened: number[] = [];
  try {
    for (const path of [fifos.stdout, fifos.stderr]) mkfifo(path, MODE.record);
    // Read-write first: a reader opened with no writer at all would read EOF at once.
    const out = openSync(fifos.stdout, constants.O_RDWR);
    opened.push(out);
    const err = openSync(fifos.stderr, constants.O_RDWR);
    opened.push(err);
    const stdout = openReader(fifos.stdout);
    opened.push(stdout);
    const stderr = openReader(fifos.stderr);
    return { out, err, readers: { stdout, stderr }, fifos };
  } catch (e) {
    for (const fd of opened) closeSync(fd);
    removeFifos(fifos);
    throw e;
  }
}

/**
 * The read end of a named pipe the container may already have left: opened
 * while a writer of ours holds it, or the kernel would never say "hang up"
 * to this reader once the last writer goes (a reader opened non-blocking
 * with no writer waits for one to come first), and the log would never end.
 */
function reopenReader(path: string): number {
  const writer = openSync(path, constants.O_RDWR);
  try {
    return openReader(path);
  } finally {
    closeSync(writer);
  }
}

/** The read ends of an adopted container's named pipes (whatever is buffered in them is read first). */
export function reopenFifos(fifos: StdioFifos): { stdout: number; stderr: number } | undefined {
  try {
    const stdout = reopenReader(fifos.stdout);
    try {
      return { stdout, stderr: reopenReader(fifos.stderr) };
    } catch (err) {
      closeSync(stdout);
      throw err;
    }
  } catch {
    // Gone (the pod's directory was removed): nothing to read.
    return undefined;
  }
}

export function removeFifos(fifos: StdioFifos | undefined): void {
  if (!fifos) return;
  rmSync(fifos.stdout, { force: true });
  rmSync(fifos.stderr, { force: true });
}
