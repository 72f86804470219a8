// The bench's own pod network: peapod's default list (bridge, host-local,
// portmap, firewall) on a bridge, range and reservation directory of the
// bench's, never the host's /etc/cni/net.d nor the default peapod0. What
// the plugins add for everyone (their shared iptables chains, ip_forward)
// is put back at cleanup when the bench was the one that added it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from './repo.js';

const SHAPE = { name: 'peapod-bench', bridge: 'ppbench0', subnet: '10.198.0.0/24' };

async function dist(module) {
  return import(pathToFileURL(join(REPO, 'dist', 'network', module)).href);
}

/** Whether the CNI plugins peapod's default network needs are installed. */
export async function cniAvailable() {
  const { DEFAULT_PLUGINS } = await dist('default-network.js');
  const { DEFAULT_PLUGIN_DIRS, lookupPlugin } = await dist('plugins.js');
  return DEFAULT_PLUGINS.every((p) => lookupPlugin(p, DEFAULT_PLUGIN_DIRS) !== null);
}

const iptablesLines = () => execFileSync('iptables-save', { encoding: 'utf8' }).split('\n');

export async function benchNetwork(work) {
  const { defaultNetworkList } = await dist('default-network.js');
  const { DEFAULT_PLUGIN_DIRS } = await dist('plugins.js');
  const dir = join(work, 'cni');
  const confDir = join(dir, 'net.d');
  mkdirSync(confDir, { recursive: true });
  const list = defaultNetworkList({ ...SHAPE, dataDir: join(dir, 'ipam') });
  writeFileSync(join(confDir, '10-bench.conflist'), JSON.stringify(list, null, 2));
  const before = { rules: new Set(iptablesLines()), ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8') };
  return {
    options: { mode: 'cni', confDir, pluginDirs: DEFAULT_PLUGIN_DIRS, checkDelayMs: 600_000 },
    /** After every pod is gone: the bridge, then the shared chains and ip_forward if they were ours. */
    remove(log) {
      try {
        if (existsSync(`/sys/class/net/${SHAPE.bridge}`)) execFileSync('ip', ['link', 'del', SHAPE.bridge]);
        let table = '';
        const added = [];
        for (const line of iptablesLines()) {
          if (line.startsWith('*')) table = line.slice(1);
          else if (!before.rules.has(line) && (line.startsWith(':CNI-') || (line.startsWith('-A ') && line.includes('CNI-')))) added.push([table, line]);
        }
        const chains = added.filter(([, l]) => l.startsWith(':')).map(([t, l]) => [t, l.slice(1).split(' ')[0]]);
        // Jumps into those chains from the built-in ones, then the chains themselves.
        for (const [t, l] of added.filter(([, line]) => line.startsWith('-A '))) {
          const words = l.match(/"(?:[^"\\]|\\.)*"|\S+/g).map((w) => (w.startsWith('"') ? w.slice(1, -1).replace(/\\"/g, '"') : w));
          if (!chains.some(([ct, c]) => ct === t && c === words[1])) execFileSync('iptables', ['-t', t, '-D', ...words.slice(1)]);
        }
        for (const [t, c] of chains) execFileSync('iptables', ['-t', t, '-F', c]);
        for (const [t, c] of chains) execFileSync('iptables', ['-t', t, '-X', c]);
        writeFileSync('/proc/sys/net/ipv4/ip_forward', before.ipForward);
      } catch (err) {
        log(`cleanup: network: ${err.message}`);
      }
    },
  };
}
