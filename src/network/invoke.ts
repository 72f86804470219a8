// Running one plugin once, as the CNI spec says: a separate process (the
// runtime never changes its own namespaces), the parameters in CNI_*
// variables, the configuration on stdin, the result or an error object on
// stdout.
import { CniPluginError } from './types.js';
import { childProcess } from '../lazy-packages.js';

export type CniCommand = 'ADD' | 'CHECK' | 'DEL';

export interface Invocation {
  command: CniCommand;
  containerId: string;
  /** The pinned network namespace; empty on a DEL when it is gone. */
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, e.g. K8S_POD_NAME. */
  args: ReadonlyArray<readonly [string, string]>;
  /** The plugin directories, passed on as CNI_PATH (IPAM plugins are found through it). */
  path: readonly string[];
}

/** A plugin that hangs would hold the pod's start or teardown forever. */
export const PLUGIN_TIMEOUT_MS = 60_000;

export function cniArgs(args: Invocation['args']): string {
  // IgnoreUnknown: a plugin that does not know K8S_* still runs (containerd passes it too).
  return [['IgnoreUnknown', '1'] as const, ...args].map(([k, v]) => `${k}=${v}`).join(';');
}

/** The plugin's words for a failure: the spec's error object, else what it printed. */
function failureText(stdout: string, stderr: string, exit: string): { message: string; code?: number } {
  try {
    const err = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof err.msg === 'string') {
      const details = typeof err.details === 'string' && err.details !== '' ? `: ${err.details}` : '';
      return { message: `${err.msg}${details}`, ...(typeof err.code === 'number' ? { code: err.code } : {}) };
    }
  } catch {
    // Not the spec's error object: use the text.
  }
  const text = (stdout.trim() || stderr.trim()).slice(0, 2000);
  return { message: text === '' ? exit : `${text} (${exit})` };
}

/**
 * Runs the plugin at `binary` with `config` on stdin. Resolves with its
 * stdout parsed (ADD) or null (nothing printed); rejects with the plugin's
 * own message.
 */
export function invokePlugin(binary: string, type: string, config: unknown, inv: Invocation, timeoutMs = PLUGIN_TIMEOUT_MS): Promise<Record<string, unknown> | null> {
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn(binary, [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CNI_COMMAND: inv.command,
        CNI_CONTAINERID: inv.containerId,
        CNI_NETNS: inv.netns,
        CNI_IFNAME: inv.ifName,
        CNI_ARGS: cniArgs(inv.args),
        CNI_PATH: inv.path.join(':'),
      },
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A plugin that exits without reading stdin closes the pipe: not our failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(config));
    child.on('error', (err) => reject(new CniPluginError(`cannot run ${binary}: ${err.message}`, type)));
    child.on('close', (code, signal) => {
      if (code === 0) {
        if (stdout.trim() === '') return resolve(null);
        try {
          return resolve(JSON.parse(stdout) as Record<string, unknown>);
        } catch {
          return reject(new CniPluginError(`printed a result that is not JSON: ${stdout.slice(0, 200)}`, type));
        }
      }
      const exit = signal === 'SIGKILL' && child.killed ? `timed out after ${timeoutMs / 1000}s` : signal ? `killed by ${signal}` : `exit status ${code}`;
      const { message, code: cniCode } = failureText(stdout, stderr, exit);
      reject(new CniPluginError(message, type, cniCode));
    });
  });
}
