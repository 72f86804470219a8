// exec and attach over the channels: the command's stdio copied to and
// from them, the terminal resized as the client says, and how it ended
// written on the error channel as the protocol version says it: v4 and v5
// a metav1.Status (the exit code as a cause), older ones a line of text.
import { closeSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { setWinsize, SpawnError } from '../../native/addon.js';
import { copyOut, drainOutput, execStdio, spawnInContainer, startFailureCode, type OutputCopy } from '../../runtime/exec.js';
import { exitCodeOf, type PlanProcess } from '../../runtime/process.js';
import type { RuntimeService } from '../../runtime/runtime-service.js';
import type { CommandChannels, InChannel, OutChannel, StreamOptions } from './channels.js';

/** How a command ended, for the error channel: an exit code, or an error before or instead of one. */
export type Outcome = { exitCode: number } | { error: string };

/** The error channel's message for `outcome` under `protocol` (nothing for a success before v4). */
export function statusMessage(protocol: string, outcome: Outcome, argv: readonly string[]): Buffer | undefined {
  const structured = protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io' || protocol === 'v4.base64.channel.k8s.io';
  if ('exitCode' in outcome && outcome.exitCode === 0) {
    return structured ? Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' })) : undefined;
  }
  if ('error' in outcome) {
    return Buffer.from(structured ? JSON.stringify({ metadata: {}, status: 'Failure', message: outcome.error, reason: 'InternalError', code: 500 }) : outcome.error);
  }
  const message = `command terminated with non-zero exit code: error executing command ${JSON.stringify(argv)}, exit code ${outcome.exitCode}`;
  if (!structured) return Buffer.from(message);
  return Buffer.from(
    JSON.stringify({
      metadata: {},
      status: 'Failure',
      message,
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(outcome.exitCode) }] },
    }),
  );
}

/** Reads the resize channel: JSON `{"Width":W,"Height":H}` objects, one after the other. */
function onResize(channel: InChannel | undefined, resize: (rows: number, cols: number) => void): void {
  let pending = '';
  channel?.onData((data) => {
    pending += data.toString('utf8');
    // Objects are written back to back (a JSON encoder's newline may or may not follow).
    for (;;) {
      const end = pending.indexOf('}');
      if (end < 0) return;
      const text = pending.slice(0, end + 1);
      pending = pending.slice(end + 1);
      try {
        const size = JSON.parse(text) as { Width?: number; Height?: number };
        if (size.Width && size.Height) resize(size.Height, size.Width);
      } catch {
        // Not an object we know: skip it.
      }
    }
  });
}

/** An OutChannel as a writable stream, for copyOut. */
function sink(channel: OutChannel | undefined): NodeJS.WritableStream {
  return { write: (d: Buffer | string) => (channel?.write(Buffer.isBuffer(d) ? d : Buffer.from(d)), true) } as unknown as NodeJS.WritableStream;
}

function finish(ch: CommandChannels, protocol: string, outcome: Outcome, argv: readonly string[]): void {
  ch.stdout?.end();
  ch.stderr?.end();
  const message = statusMessage(protocol, outcome, argv);
  if (message) ch.error.write(message);
  ch.error.end();
  ch.close();
}

/** Exec: `argv` in the running container, its stdio over the channels, until it exits. */
export async function serveExec(runtime: RuntimeService, containerId: string, argv: string[], opts: StreamOptions, ch: CommandChannels): Promise<void> {
  const rows = 24;
  const cols = 80;
  let proc: PlanProcess;
  let ours: number[] = [];
  try {
    const target = runtime.execTarget(containerId);
    const pipes = execStdio(opts.tty);
    ours = pipes.ours;
    try {
      proc = spawnInContainer(target, 'exec', argv, pipes.stdio, opts.tty ? { rows, cols } : undefined);
    } finally {
      for (const fd of pipes.theirs) closeSync(fd);
    }
  } catch (err) {
    for (const fd of ours) closeSync(fd);
    if (err instanceof SpawnError) {
      ch.stderr?.write(Buffer.from(`${err.message}\n`));
      finish(ch, ch.protocol, { exitCode: startFailureCode(err) }, argv);
    } else {
      finish(ch, ch.protocol, { error: (err as Error).message }, argv);
    }
    return;
  }
  // A client that goes away takes its command with it, as the kubelet's does.
  ch.onClose(() => void proc.signal('SIGKILL'));
  let copies: OutputCopy[];
  if (opts.tty) {
    const master = proc.master;
    if (master === undefined) {
      finish(ch, ch.protocol, { error: 'the container sent no terminal' }, argv);
      return;
    }
    copies = [copyOut(master, sink(opts.stdout ? ch.stdout : undefined))];
    onResize(ch.resize, (r, c) => {
      try {
        setWinsize(master, r, c);
      } catch {
        // The terminal is gone.
      }
    });
    ch.stdin?.onData((d) => {
      try {
        writeSync(master, d);
      } catch {
        // The terminal is gone.
      }
    });
  } else {
    const [inW, outR, errR] = ours as [number, number, number];
    const stdin = new Socket({ fd: inW, readable: false, writable: true });
    stdin.on('error', () => stdin.destroy());
    if (opts.stdin && ch.stdin) {
      ch.stdin.onData((d) => void stdin.write(d));
      ch.stdin.onEnd(() => stdin.end());
    } else {
      stdin.end();
    }
    copies = [copyOut(outR, sink(opts.stdout ? ch.stdout : undefined)), copyOut(errR, sink(opts.stderr ? ch.stderr : undefined))];
    void proc.exited.then(() => stdin.destroy());
  }
  const code = exitCodeOf(await proc.exited);
  await drainOutput(copies);
  finish(ch, ch.protocol, { exitCode: code }, argv);
}

/** Attach: the container's own output from now on, and its stdin; until it exits, the client leaves, or (stdin not once) the client's stdin ends. */
export async function serveAttach(runtime: RuntimeService, containerId: string, opts: StreamOptions, ch: CommandChannels): Promise<void> {
  let attachment: ReturnType<RuntimeService['attachContainer']>;
  let exited: Promise<unknown>;
  try {
    exited = runtime.waitContainer(containerId);
    attachment = runtime.attachContainer(containerId, (stream, data) => {
      const out = stream === 'stdout' || opts.tty ? (opts.stdout ? ch.stdout : undefined) : opts.stderr ? ch.stderr : undefined;
      out?.write(Buffer.from(data, 'utf8'));
    });
  } catch (err) {
    finish(ch, ch.protocol, { error: (err as Error).message }, []);
    return;
  }
  let release!: () => void;
  const over = new Promise<void>((resolve) => (release = resolve));
  if (opts.stdin && ch.stdin) {
    ch.stdin.onData((d) => attachment.write(d));
    // The client's stdin is done: a stdinOnce container's stdin closes (and its output ends when it exits); otherwise the attach is over.
    ch.stdin.onEnd(() => {
      attachment.end();
      if (!attachment.stdinOnce) release();
    });
  }
  ch.onClose(release);
  void exited.then(release);
  await over;
  attachment.detach();
  finish(ch, ch.protocol, { exitCode: 0 }, []);
}
