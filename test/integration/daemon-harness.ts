// The node daemon as a test drives it: started in the foreground (as
// systemd would) or by any command on demand, killed with SIGKILL as a
// crash would, and its pods looked at through the kernel and its records.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from '../../src/runtime/json-file.js';
import { daemonPaths, type DaemonInfo } from '../../src/node/daemon-paths.js';
import { bin, peapod, type CliResult } from './cli-harness.js';
import { isAlive, waitFor, type TestRoot } from './helpers.js';

/** What daemon.json says of the daemon that serves the root now. */
export function daemonInfo(root: TestRoot): DaemonInfo {
  const info = readJson<DaemonInfo>(daemonPaths(root.paths).info);
  if (!info || !isAlive(info.pid)) throw new Error(`no daemon runs for ${root.dir}`);
  root.pids.add(info.reaper.pid);
  return info;
}

/** SIGKILL to the daemon (never its reaper), and back once the kernel has ended it. */
export async function killDaemon(root: TestRoot): Promise<DaemonInfo> {
  const info = daemonInfo(root);
  process.kill(info.pid, 'SIGKILL');
  await waitFor(`the daemon (pid ${info.pid}) to be gone`, () => !isAlive(info.pid), 5000);
  return info;
}

export interface Foreground {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `peapod daemon` (or `argv`: `peapod cri ...`) in the foreground, as a service manager runs it; resolves once it serves (or has exited). */
export async function foregroundDaemon(root: TestRoot, env: NodeJS.ProcessEnv = {}, argv: readonly string[] = ['daemon']): Promise<Foreground> {
  const child = spawn(process.execPath, [bin, argv[0] as string, '--root', root.dir, ...argv.slice(1)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  await waitFor('the daemon to serve, or to exit', () => done || /serving /.test(output), 20_000);
  return { child, output: () => output, exited };
}

export interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  status: {
    phase: string;
    reason?: string;
    message?: string;
    podIP?: string;
    containerStatuses: Array<{
      name: string;
      restartCount: number;
      state: { running?: object; waiting?: { reason: string }; terminated?: { exitCode: number; signal?: number; reason: string } };
      lastState: { terminated?: { exitCode: number; signal?: number; reason: string } };
    }>;
  };
}

/** `get pod NAME -o json`, parsed (the daemon answers, started if need be). */
export async function getPod(root: TestRoot, name: string, env: NodeJS.ProcessEnv = {}): Promise<PodJson> {
  const r = await peapod(root, ['get', 'pod', name, '-o', 'json'], env);
  if (r.code !== 0) throw new Error(`get pod ${name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as PodJson;
}

export interface Record {
  uid: string;
  supervisor: { pid: number };
  sandbox: { pid: number; startTime: number };
  containers: { [name: string]: { pid: number; startTime: number } };
  cgroups?: { pod: string };
  version?: number;
}

export function recordOf(root: TestRoot, name: string): Record {
  return JSON.parse(readFileSync(join(root.dir, 'pods', name, 'runtime.json'), 'utf8')) as Record;
}

/** The pod's pause and containers, added to what the leak check waits for. */
export function podPids(root: TestRoot, name: string): number[] {
  const r = recordOf(root, name);
  const pids = [r.sandbox.pid, ...Object.values(r.containers).map((c) => c.pid)];
  for (const pid of pids) root.pids.add(pid);
  return pids;
}

export async function runDetached(root: TestRoot, file: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const r = await peapod(root, ['run', '-d', '-f', file], env);
  if (r.code !== 0) throw new Error(`run -d ${file}: ${r.stderr}`);
  return r;
}

export function exists(path: string): boolean {
  return existsSync(path);
}

export { childrenOf } from './proc.js';

/**
 * A pod whose container `c` waits for the file `go` in its emptyDir (the
 * test writes it from the host: <root>/pods/NAME/volumes/v/go), then runs
 * `then`; `keeper` keeps the pod running after `c` has ended.
 */
export function gatedPod(name: string, then: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  restartPolicy: Never
  volumes: [{name: v, emptyDir: {}}]
  containers:
  - name: c
    image: busybox
    command: [sh, -c, ${JSON.stringify(`while [ ! -e /v/go ]; do sleep 0.01; done; ${then}`)}]
    volumeMounts: [{name: v, mountPath: /v}]
  - {name: keeper, image: busybox, command: [sleep, '3600']}
`;
}
