// ADD, CHECK and DEL of a whole configuration list, as libcni runs them for
// containerd: ADD plugin by plugin in order, each given the previous one's
// result as prevResult; DEL in reverse order with the ADD's result; CHECK in
// order with it (0.4.0 and later, unless the list disables it). Each plugin
// sees only the runtimeConfig capabilities it declares.
import { invokePlugin, type CniCommand, type Invocation } from './invoke.js';
import { findPlugin } from './plugins.js';
import { parseResult } from './result.js';
import { CniPluginError, type CniResult, type NetworkConfigList, type PluginConf, type PortMapping } from './types.js';

export interface Attachment {
  list: NetworkConfigList;
  containerId: string;
  netns: string;
  ifName: string;
  args: ReadonlyArray<readonly [string, string]>;
  pluginDirs: readonly string[];
  /** What the runtime offers the plugins' capabilities (the kubelet's portMappings). */
  capabilityArgs: { portMappings?: PortMapping[] };
}

/** 0.4.0 and later know CHECK and take the ADD's result on DEL. */
export function atLeast040(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 0 || minor >= 4;
}

/** The configuration one plugin reads on stdin. */
export function pluginConfig(a: Attachment, plugin: PluginConf, prevResult: Record<string, unknown> | null): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: a.list.name, cniVersion: a.list.cniVersion };
  if (prevResult) conf.prevResult = prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, value] of Object.entries(a.capabilityArgs)) {
    if (plugin.capabilities?.[cap] === true && value !== undefined) runtimeConfig[cap] = value;
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return conf;
}

async function run(a: Attachment, command: CniCommand, plugin: PluginConf, prevResult: Record<string, unknown> | null): Promise<Record<string, unknown> | null> {
  const inv: Invocation = { command, containerId: a.containerId, netns: a.netns, ifName: a.ifName, args: a.args, path: a.pluginDirs };
  const verb = command === 'DEL' ? 'delete' : command.toLowerCase();
  try {
    return await invokePlugin(findPlugin(plugin.type, a.pluginDirs), plugin.type, pluginConfig(a, plugin, prevResult), inv);
  } catch (err) {
    // containerd's wording, so the message reads the same as under the kubelet.
    const e = err as CniPluginError;
    throw new CniPluginError(`plugin type="${plugin.type}" name="${a.list.name}" failed (${verb}): ${e.message}`, plugin.type, e.code);
  }
}

/** `onPlugin(i)` is told before plugin i runs: after a failure, only those tried need a DEL. */
export async function addNetworkList(a: Attachment, onPlugin?: (index: number) => void): Promise<CniResult> {
  let prev: Record<string, unknown> | null = null;
  for (const [i, plugin] of a.list.plugins.entries()) {
    onPlugin?.(i);
    const out = await run(a, 'ADD', plugin, prev);
    if (!out) throw new CniPluginError(`plugin type="${plugin.type}" name="${a.list.name}" failed (add): printed no result`, plugin.type);
    prev = out;
  }
  const last = a.list.plugins[a.list.plugins.length - 1] as PluginConf;
  return parseResult(prev as Record<string, unknown>, a.ifName, last.type);
}

/** False when the list's version or its disableCheck rules CHECK out. */
export function canCheck(list: NetworkConfigList): boolean {
  return atLeast040(list.cniVersion) && list.disableCheck !== true;
}

/**
 * portmap up to 1.2 checks its IPv6 rules whenever ip6tables exists, and
 * fails CHECK on a network without IPv6 (containernetworking/plugins#819;
 * Debian 12 ships 1.1.1): that one failure says nothing about the pod.
 */
function knownFalseFailure(plugin: PluginConf, err: unknown, result: Record<string, unknown>): boolean {
  const ips = Array.isArray(result.ips) ? (result.ips as Array<{ address?: unknown }>) : [];
  const v6 = ips.some((ip) => typeof ip.address === 'string' && ip.address.includes(':'));
  return plugin.type === 'portmap' && !v6 && /could not check ipv6 dnat/.test((err as Error).message);
}

export async function checkNetworkList(a: Attachment, result: Record<string, unknown>): Promise<void> {
  if (!canCheck(a.list)) return;
  for (const plugin of a.list.plugins) {
    try {
      await run(a, 'CHECK', plugin, result);
    } catch (err) {
      if (!knownFalseFailure(plugin, err, result)) throw err;
    }
  }
}

/**
 * DEL, last plugin first, stopping at the first failure as libcni does;
 * `result` is the ADD's, when there was one. After an ADD that failed at
 * plugin `failedAt`, only the plugins up to it are undone, and the failed
 * one's own DEL may fail too (the same bad configuration, the same missing
 * binary): it made nothing that its namespace does not take with it.
 */
export async function delNetworkList(a: Attachment, result: Record<string, unknown> | null, failedAt?: number): Promise<void> {
  const prev = atLeast040(a.list.cniVersion) ? result : null;
  const plugins = failedAt === undefined ? a.list.plugins : a.list.plugins.slice(0, failedAt + 1);
  for (let i = plugins.length - 1; i >= 0; i--) {
    try {
      await run(a, 'DEL', plugins[i] as PluginConf, prev);
    } catch (err) {
      if (i !== failedAt) throw err;
    }
  }
}
