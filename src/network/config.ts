// Network configuration from a directory, as the kubelet and containerd read
// /etc/cni/net.d: files ending .conf, .conflist or .json, in the order of
// their names; the first that is valid is the pod network. A file that
// cannot be used is skipped with the reason (they log and go on too).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetworkConfigError, SUPPORTED_VERSIONS, type LoadedNetwork, type NetworkConfigList, type PluginConf } from './types.js';

const EXTENSIONS = ['.conf', '.conflist', '.json'];

export interface LoadResult {
  network: LoadedNetwork | null;
  /** Files passed over, each with why: said as warnings. */
  skipped: Array<{ file: string; reason: string }>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkPlugin(p: unknown, where: string): PluginConf {
  if (!isObject(p)) throw new NetworkConfigError(`${where}: a plugin must be an object with a "type"`);
  const type = p.type;
  if (typeof type !== 'string' || type === '') throw new NetworkConfigError(`${where}: "type" is missing; it names the plugin binary, e.g. "bridge"`);
  // The type is a file name in the plugin directories, never a path.
  if (type.includes('/') || type === '.' || type === '..') throw new NetworkConfigError(`${where}: "type" ${JSON.stringify(type)} must be a plugin name, not a path`);
  if (p.capabilities !== undefined && !isObject(p.capabilities)) throw new NetworkConfigError(`${where}: "capabilities" must be an object, e.g. {"portMappings": true}`);
  return p as PluginConf;
}

/**
 * Parses one list (or a lone plugin configuration, made a list of one, as
 * libcni does for `.conf`). `file` names it in every message.
 */
export function parseNetworkConfig(text: string, file: string): NetworkConfigList {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NetworkConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw new NetworkConfigError(`${file}: must hold a JSON object`);
  const name = json.name;
  if (typeof name !== 'string' || name === '') throw new NetworkConfigError(`${file}: "name" is missing; every network needs one, e.g. "name": "mynet"`);
  const version = json.cniVersion;
  if (typeof version !== 'string') throw new NetworkConfigError(`${file}: "cniVersion" is missing; write "cniVersion": "1.0.0" (or "0.4.0")`);
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new NetworkConfigError(`${file}: cniVersion ${JSON.stringify(version)} is not supported; use one of ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const list: NetworkConfigList = { cniVersion: version, name, plugins: [] };
  if (json.disableCheck === true) list.disableCheck = true;
  if ('plugins' in json) {
    if (!Array.isArray(json.plugins) || json.plugins.length === 0) throw new NetworkConfigError(`${file}: "plugins" must be a non-empty list of plugin configurations`);
    list.plugins = json.plugins.map((p, i) => checkPlugin(p, `${file}: plugins[${i}]`));
  } else {
    // A single plugin's configuration: its own keys minus the list's.
    const { name: _n, cniVersion: _v, ...plugin } = json;
    list.plugins = [checkPlugin(plugin, file)];
  }
  return list;
}

/** The first usable network of `dir` (none when it is empty or missing). */
export function loadNetwork(dir: string): LoadResult {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { network: null, skipped: [] };
    throw new NetworkConfigError(`cannot read the network configuration directory ${dir}: ${(err as Error).message}`);
  }
  const skipped: LoadResult['skipped'] = [];
  for (const name of names.filter((n) => EXTENSIONS.some((e) => n.endsWith(e))).sort()) {
    const file = join(dir, name);
    try {
      return { network: { list: parseNetworkConfig(readFileSync(file, 'utf8'), file), source: file }, skipped };
    } catch (err) {
      skipped.push({ file, reason: (err as Error).message });
    }
  }
  return { network: null, skipped };
}
