// The CNI objects peapod reads and writes (spec 0.3.x, 0.4.0 and 1.0.0),
// as plain JSON shapes. A plugin's own keys are kept as they were written:
// peapod adds name, cniVersion, prevResult and runtimeConfig, nothing else.

/** One plugin of a network configuration list: `type` names its binary. */
export interface PluginConf {
  type: string;
  /** What the runtime may pass in runtimeConfig (`portMappings`). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list (`.conflist`; a lone `.conf` becomes one). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
}

/** Where a list came from: a file of the config directory, or peapod's default. */
export interface LoadedNetwork {
  list: NetworkConfigList;
  source: string;
}

/** The kubelet's port mapping, as portmap reads it from runtimeConfig.portMappings. */
export type { PortMapping } from '../runtime/api.js';

/** An ADD result, parsed: the addresses peapod reports, and the raw JSON chained as prevResult. */
export interface CniResult {
  cniVersion: string;
  /** The pod's addresses (without prefix length), IPv4 first. */
  ips: string[];
  raw: Record<string, unknown>;
}

/** The versions whose results peapod parses (the plugins' own VERSION lists them too). */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

/** A plugin said no: its own message (and details), with the plugin and the command named. */
export class CniPluginError extends Error {
  override name = 'CniPluginError';
  constructor(
    message: string,
    readonly plugin: string,
    /** The CNI error code, when the plugin gave one (e.g. 7: invalid network config). */
    readonly code?: number,
  ) {
    super(message);
  }
}

/** The network configuration could not be used: names the file and what to change. */
export class NetworkConfigError extends Error {
  override name = 'NetworkConfigError';
}
