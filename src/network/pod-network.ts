// The pod's network over its life, the one place the runtime calls: set up
// once pause exists (pin its namespace, CNI ADD), torn down at the end (CNI
// DEL, unpin), also after a start that failed half-way, and reclaimed when
// a supervisor died with its pods. A DEL that fails is kept and retried by
// the next reclaim. Operations of one pod run one at a time.
import { isIP } from 'node:net';
import { newId } from '../runtime/ids.js';
import type { RuntimePaths } from '../runtime/paths.js';
import { addNetworkList, checkNetworkList, delNetworkList, type Attachment } from './cni.js';
import { loadNetwork } from './config.js';
import { DEFAULT_NETWORK, DEFAULT_PLUGINS, defaultNetworkList } from './default-network.js';
import { hostIPs } from './host-ip.js';
import { isPinned, pinNetns, unpinNetns } from './netns-pin.js';
import type { NetworkOptions } from './options.js';
import { lookupPlugin } from './plugins.js';
import { isAbandoned, listNetworkRecords, pinPath, readNetworkRecord, removeNetworkRecord, thisProcess, writeNetworkRecord, type NetworkRecord } from './records.js';
import { parseResult } from './result.js';
import { NetworkConfigError, type LoadedNetwork, type PortMapping } from './types.js';

export const POD_IFNAME = 'eth0';
/** CHECK runs this long after ADD, off the path of the pod's start. */
export const CHECK_DELAY_MS = 2000;

export interface PodNetworkContext {
  /** The pod, as the CNI arguments name it; on the host's network, CNI is skipped; its hostPorts for portmap. */
  pod: { name: string; namespace: string; uid: string; hostNetwork: boolean; portMappings: PortMapping[] };
  paths: RuntimePaths;
  options: NetworkOptions;
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
  /**
   * The attachment belongs to pause, not to this process (a pod of the node
   * daemon, which outlives it): no reclaim DELs it while pause lives.
   */
  ownedByPause?: boolean;
}

export class NetworkSetupError extends Error {
  override name = 'NetworkSetupError';
}

let announcedDefault = false;

export class PodNetwork {
  /** The pod's addresses, IPv4 first; empty while it has loopback only. */
  podIPs: string[] = [];
  readonly hostIPs = hostIPs();
  private record: NetworkRecord | undefined;
  private network: LoadedNetwork | null | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private checkTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: PodNetworkContext) {}

  /** One operation at a time: a teardown waits for a CHECK under way. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The network to attach to, decided once per pod; null: loopback only. */
  private choose(): LoadedNetwork | null {
    if (this.network !== undefined) return this.network;
    const { options } = this.ctx;
    if (options.mode === 'none' || this.ctx.pod.hostNetwork) return (this.network = null);
    const { network, skipped } = loadNetwork(options.confDir);
    for (const s of skipped) this.ctx.event('Warning', 'NetworkConfigSkipped', `${s.reason}; skipped`);
    if (network) return (this.network = network);
    if (skipped.length > 0) throw new NetworkConfigError(`no usable network configuration in ${options.confDir} (${skipped.length} file${skipped.length > 1 ? 's' : ''} skipped, see above); fix it, or empty the directory to use peapod's default network`);
    if (DEFAULT_PLUGINS.every((p) => lookupPlugin(p, options.pluginDirs) === null)) {
      this.ctx.event(
        'Warning',
        'NetworkNotReady',
        `no network configuration in ${options.confDir} and no CNI plugins in ${options.pluginDirs.join(':')}: the pod has its own loopback only; install Debian's containernetworking-plugins and iptables (scripts/install-deps.sh does)`,
      );
      return (this.network = null);
    }
    const shape = options.defaultNetwork ?? DEFAULT_NETWORK;
    const note = `no network configuration in ${options.confDir}: using peapod's default network "${shape.name}" (bridge ${shape.bridge}, ${shape.subnet}); put a .conflist there to use your own`;
    this.ctx.event('Normal', 'DefaultNetwork', note);
    if (!announcedDefault) process.stderr.write(`peapod: ${note}\n`);
    announcedDefault = true;
    return (this.network = { list: defaultNetworkList(shape), source: 'default' });
  }

  /** After pause exists: pin its namespace, ADD. Throws with the plugin's message; teardown still DELs. */
  setUp(pausePid: number, pauseStartTime: number): Promise<void> {
    return this.serial(async () => {
      if (this.ctx.pod.hostNetwork) {
        this.podIPs = [...this.hostIPs];
        return;
      }
      const network = this.choose();
      if (!network) return;
      const { pod, paths, options } = this.ctx;
      const sandboxId = newId();
      const attachment: Attachment = {
        list: network.list,
        containerId: sandboxId,
        netns: pinPath(paths, sandboxId),
        ifName: POD_IFNAME,
        args: [
          ['K8S_POD_NAMESPACE', pod.namespace],
          ['K8S_POD_NAME', pod.name],
          ['K8S_POD_INFRA_CONTAINER_ID', sandboxId],
          ['K8S_POD_UID', pod.uid],
        ],
        pluginDirs: options.pluginDirs,
        capabilityArgs: { portMappings: pod.portMappings },
      };
      // On disk before anything exists, so a crash at any point leaves enough to DEL.
      const owner = this.ctx.ownedByPause ? { pid: pausePid, startTime: pauseStartTime } : thisProcess();
      this.record = { sandboxId, pod: { name: pod.name, namespace: pod.namespace, uid: pod.uid }, owner, source: network.source, attachment, result: null };
      writeNetworkRecord(paths, this.record);
      const record = this.record;
      let tried: number | undefined;
      try {
        pinNetns(pausePid, pauseStartTime, attachment.netns);
        const result = await addNetworkList(attachment, (i) => (tried = i));
        this.record.result = result.raw;
        writeNetworkRecord(paths, this.record);
        this.podIPs = result.ips;
      } catch (err) {
        if (tried !== undefined) writeNetworkRecord(paths, Object.assign(record, { failedAt: tried }));
        const message = `failed to set up the network of pod "${pod.name}" (sandbox ${sandboxId.slice(0, 12)}, network "${network.list.name}" from ${network.source}): ${(err as Error).message}`;
        this.ctx.event('Warning', 'FailedCreatePodSandBox', message);
        throw new NetworkSetupError(message);
      }
      this.scheduleCheck();
    });
  }

  /** The attachment's id (its record's name), for a later process to adopt it; undefined without one. */
  get attachmentId(): string | undefined {
    return this.record?.sandboxId;
  }

  /**
   * Takes over the attachment a process before this one made (by its id):
   * its addresses again, and the DEL at teardown. On the host's network,
   * the host's addresses.
   */
  adopt(attachmentId: string | undefined): void {
    if (this.ctx.pod.hostNetwork) {
      this.podIPs = [...this.hostIPs];
      return;
    }
    const record = attachmentId === undefined ? undefined : readNetworkRecord(this.ctx.paths, attachmentId);
    if (!record) return;
    this.record = record;
    try {
      this.podIPs = record.result ? parseResult(record.result, record.attachment.ifName, 'the saved result').ips : [];
    } catch {
      this.podIPs = [];
    }
  }

  private scheduleCheck(): void {
    this.checkTimer = setTimeout(() => {
      this.checkTimer = undefined;
      void this.check();
    }, this.ctx.options.checkDelayMs ?? CHECK_DELAY_MS);
    this.checkTimer.unref();
  }

  /**
   * CHECK the attachment (where the list's version and disableCheck allow
   * it); a failure is a Warning event and the message. Runs once after ADD.
   */
  check(): Promise<string | undefined> {
    return this.serial(async () => {
      const record = this.record;
      if (!record?.result) return undefined;
      try {
        await checkNetworkList(record.attachment, record.result);
        return undefined;
      } catch (err) {
        const message = `the network of sandbox ${record.sandboxId.slice(0, 12)} is not as it was set up: ${(err as Error).message}`;
        this.ctx.event('Warning', 'NetworkCheckFailed', message);
        return message;
      }
    });
  }

  /**
   * DEL (always, even after a failed ADD), then the pin goes. Never throws:
   * a DEL that fails is reported and kept for the next reclaim.
   */
  tearDown(): Promise<void> {
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = undefined;
    return this.serial(async () => {
      const record = this.record;
      this.record = undefined;
      this.podIPs = [];
      if (!record) return;
      const error = await deleteAttachment(this.ctx.paths, record);
      if (error) this.ctx.event('Warning', 'FailedKillPod', error);
    });
  }

  /** A new pause (the old one died): the old attachment goes, the new one is made. */
  async replace(pausePid: number, pauseStartTime: number): Promise<void> {
    await this.tearDown();
    await this.setUp(pausePid, pauseStartTime);
  }

  /** status.podIP(s) and hostIP(s), as the kubelet fills them. */
  statusIPs(): { hostIP: string; hostIPs: Array<{ ip: string }>; podIP?: string; podIPs?: Array<{ ip: string }> } {
    const hosts = this.hostIPs.map((ip) => ({ ip }));
    const pods = this.podIPs.filter((ip) => isIP(ip) !== 0).map((ip) => ({ ip }));
    return { hostIP: this.hostIPs[0] ?? '127.0.0.1', hostIPs: hosts, ...(pods.length > 0 ? { podIP: pods[0]?.ip, podIPs: pods } : {}) };
  }
}

/**
 * DEL one attachment; on success its pin and record go. On failure the
 * record stays (marked orphan, with the error) and so does the pin, so a
 * retry finds the interface to remove; returns the message.
 */
async function deleteAttachment(paths: RuntimePaths, record: NetworkRecord): Promise<string | undefined> {
  const pin = record.attachment.netns;
  // A namespace that is gone (a pin lost with a reboot) is "" to the plugins, as the spec allows on DEL.
  const attachment = isPinned(pin) ? record.attachment : { ...record.attachment, netns: '' };
  try {
    await delNetworkList(attachment, record.result, record.result ? undefined : record.failedAt);
  } catch (err) {
    const message = `failed to destroy the network of pod "${record.pod.name}" (sandbox ${record.sandboxId.slice(0, 12)}): ${(err as Error).message}; peapod retries at the next reclaim (peapod run, or peapod delete of a dead pod)`;
    writeNetworkRecord(paths, { ...record, orphan: true, lastError: message });
    return message;
  }
  unpinNetns(pin);
  removeNetworkRecord(paths, record.sandboxId);
  return undefined;
}

/**
 * DELs every attachment no live supervisor owns: those of a crashed
 * supervisor, and (unless `orphans` is false) those whose DEL failed
 * before. `pod` limits it to one pod's. Returns the failures (each is kept
 * for the next time).
 */
export async function reclaimNetworks(paths: RuntimePaths, which: { pod?: string; orphans?: boolean } = {}): Promise<string[]> {
  const failures: string[] = [];
  for (const record of listNetworkRecords(paths)) {
    if (which.pod !== undefined && record.pod.name !== which.pod) continue;
    if (!isAbandoned(record) || (which.orphans === false && record.orphan)) continue;
    const error = await deleteAttachment(paths, record);
    if (error) failures.push(error);
  }
  return failures;
}
