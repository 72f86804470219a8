// What the network tests share: a CNI network of their own (config dir,
// bridge, subnet, host-local reservations in a temp dir), never the host's
// /etc/cni/net.d nor peapod's default bridge; the proof that a pod's
// attachment left nothing (links, rules, reservations, pins, records); and
// a guard so that only addresses inside namespaces the tests made are ever
// contacted.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { PodEvent } from '../../src/kubelet/events.js';
import type { NetworkOptions } from '../../src/network/options.js';
import { DEFAULT_PLUGIN_DIRS } from '../../src/network/plugins.js';
import { freshRootPerTest, waitFor, type TestRoot } from './helpers.js';
import type { start } from './pods.js';
import { waitUntil } from './waits.js';

/** The directory holding Debian's plugins (install-deps.sh puts them in /usr/lib/cni). */
export function realPluginDir(): string {
  const dir = DEFAULT_PLUGIN_DIRS.find((d) => existsSync(join(d, 'bridge')));
  if (!dir) throw new Error(`no CNI plugins in ${DEFAULT_PLUGIN_DIRS.join(' or ')}: run scripts/install-deps.sh (containernetworking-plugins, iptables)`);
  return dir;
}

export interface TestNetwork {
  name: string;
  bridge: string;
  subnet: string;
  dir: string;
  confDir: string;
  ipamDir: string;
  pluginDirs: string[];
  options: Partial<NetworkOptions>;
  /** Every pod address handed out while the test ran (for the leak checks). */
  seen: Set<string>;
  contains(ip: string): boolean;
  /** Rewrites the network's conflist (a test's own variant). */
  writeConfig(list: unknown): void;
  /** The standard list: bridge + host-local, portmap, firewall. */
  standardList(): { cniVersion: string; name: string; plugins: Array<Record<string, unknown>> };
  remove(): void;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** The test networks this process made: another run on the host (another checkout's suite) has its own. */
const madeHere = new Set<string>();

/** A network of its own: subnet 10.199.<index>.0/<bits>, bridge ppt<index><random>. */
export function makeTestNetwork(index: number, bits = 24, cniVersion = '1.0.0'): TestNetwork {
  const dir = mkdtempSync(join(tmpdir(), 'peapod-net-'));
  const tag = Math.random().toString(36).slice(2, 7);
  const name = `peapod-test-${index}-${tag}`;
  madeHere.add(name);
  const bridge = `ppt${index}${tag}`.slice(0, 15);
  const subnet = `10.199.${index}.0/${bits}`;
  const confDir = join(dir, 'net.d');
  const ipamDir = join(dir, 'ipam');
  mkdirSync(confDir);
  const pluginDirs = [realPluginDir()];
  const base = toInt(`10.199.${index}.0`);
  const size = 2 ** (32 - bits);
  const net: TestNetwork = {
    name,
    bridge,
    subnet,
    dir,
    confDir,
    ipamDir,
    pluginDirs,
    options: { mode: 'cni', confDir, pluginDirs, checkDelayMs: 60_000 },
    seen: new Set(),
    contains: (ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip) && toInt(ip) >= base && toInt(ip) < base + size,
    writeConfig: (list) => writeFileSync(join(confDir, '10-test.conflist'), JSON.stringify(list, null, 2)),
    standardList: () => ({
      cniVersion,
      name,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'firewall' },
      ],
    }),
    remove: () => {
      try {
        execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
      } catch {
        // Never made (a test that failed before ADD).
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  net.writeConfig(net.standardList());
  return net;
}

/** Refuses any address outside the test's own networks (the pods' namespaces) and the host's loopback. */
export function guard(nets: readonly TestNetwork[], ip: string): string {
  if (ip === '127.0.0.1' || nets.some((n) => n.contains(ip))) return ip;
  throw new Error(`test refuses to contact ${ip}: only pod addresses of the test's own networks (and 127.0.0.1 for hostPorts) may be contacted`);
}

/** GET over HTTP; the text, or null when nothing answers. */
export async function httpGet(nets: readonly TestNetwork[], ip: string, port: number, timeoutMs = 2000): Promise<string | null> {
  guard(nets, ip);
  try {
    const res = await fetch(`http://${ip}:${port}/`, { signal: AbortSignal.timeout(timeoutMs) });
    return (await res.text()).trim();
  } catch {
    return null;
  }
}

/** Retries until `probe` gives a value (a server starting up). */
export function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 10_000): Promise<T> {
  return waitUntil(what, probe, timeoutMs, 50);
}

export function iptablesRules(): string[] {
  return execFileSync('iptables-save').toString().split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':'));
}

/** host-local's reservations: one file per address, named by it. */
export function reservations(net: TestNetwork): string[] {
  const dir = join(net.ipamDir, net.name);
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

export function linksOnBridge(net: TestNetwork): string[] {
  try {
    return execFileSync('ip', ['-o', 'link', 'show', 'master', net.bridge], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Nothing of any attachment is left: links, rules, reservations, records
 * and pinned namespaces. A namespace dies asynchronously once unpinned (a
 * veth it held can outlive it by some ms): waited for, not slept.
 */
export async function expectNetworkClean(net: TestNetwork, root: TestRoot): Promise<void> {
  await waitFor('the veths to leave the bridge', () => linksOnBridge(net).length === 0).catch(() => undefined);
  expect(linksOnBridge(net), 'veths left on the bridge').toEqual([]);
  expect(reservations(net), 'host-local reservations left').toEqual([]);
  const rules = iptablesRules().filter((l) => l.includes(net.name) || [...net.seen].some((ip) => l.includes(` ${ip}/32 `) || l.includes(`${ip}:`)));
  expect(rules, 'iptables rules left').toEqual([]);
  const records = join(root.dir, 'network');
  expect(existsSync(records) ? readdirSync(records) : [], 'network records or pins left').toEqual([]);
}

// ------------------------------------------------------------------ host state

interface HostState {
  rules: Set<string>;
  ipForward: string;
}

/** What the plugins change on the host beyond one pod: shared chains, ip_forward. Taken before the suite. */
export function snapshotHost(): HostState {
  return { rules: new Set(execFileSync('iptables-save').toString().split('\n')), ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8') };
}

/** Splits an iptables-save rule into arguments (comments are double-quoted). */
function ruleArgs(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : (m[2] as string));
  return out;
}

/** The chain a rule jumps to (its -j), if any. */
function jumpTarget(args: readonly string[]): string | undefined {
  const i = args.indexOf('-j');
  return i < 0 ? undefined : args[i + 1];
}

/** iptables, where a rule or chain that is gone already (its owner removed it meanwhile), or a chain another run still jumps to, is no error. */
function iptablesGone(args: string[]): void {
  try {
    execFileSync('iptables', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
    if (!/does not exist|No chain\/target\/match by that name|Bad rule|Too many links/.test(stderr)) throw err;
  }
}

/**
 * Puts back what the suite's plugins added for everyone (the portmap and
 * firewall chains, the jumps to them, ip_forward), once no pod uses them.
 * Chains that were there before the suite are left alone, and so is what
 * another run on this host added for its own test networks meanwhile (the
 * rules that name them, and the pods' chains those rules jump to).
 */
export function restoreHost(before: HostState): void {
  let table = '';
  const added: Array<{ table: string; line: string; args: string[] }> = [];
  for (const line of execFileSync('iptables-save').toString().split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if ((line.startsWith('-A ') || line.startsWith(':')) && !before.rules.has(line)) added.push({ table, line, args: ruleArgs(line) });
  }
  const others = (line: string): boolean => [...line.matchAll(/peapod-test-\d+-[a-z0-9]+/g)].some((m) => !madeHere.has(m[0]));
  const theirs = new Set(added.filter((a) => others(a.line)).map((a) => `${a.table} ${jumpTarget(a.args)}`));
  const chains = added
    .filter((a) => a.line.startsWith(':'))
    .map((a) => ({ table: a.table, chain: a.line.slice(1).split(' ')[0] as string }))
    .filter((c) => !theirs.has(`${c.table} ${c.chain}`));
  for (const { table: t, args } of added.filter((a) => a.line.startsWith('-A ') && !others(a.line))) {
    if (!chains.some((c) => c.table === t && c.chain === args[1]) && !theirs.has(`${t} ${args[1]}`)) iptablesGone(['-t', t, '-D', ...args.slice(1)]);
  }
  for (const { table: t, chain } of chains) iptablesGone(['-t', t, '-F', chain]);
  for (const { table: t, chain } of chains) iptablesGone(['-t', t, '-X', chain]);
  writeFileSync('/proc/sys/net/ipv4/ip_forward', before.ipForward);
}

// ------------------------------------------------------------------ suites

export interface NetworkSuite {
  root: TestRoot;
  /** This test's network (a test may replace it with another of its own). */
  net: TestNetwork;
  /** The events of this test's pods. */
  events: PodEvent[];
  /** Start options on this test's network (or the one given). */
  options(network?: Partial<NetworkOptions>): Parameters<typeof start>[2];
}

/**
 * Registers a network suite's hooks: the host's shared state restored after
 * it, and per test a fresh root and a network of its own, whose pods are
 * stopped and whose bridge goes before the shared leak check (after-hooks
 * run last-registered first), even when the test failed half-way.
 */
export function networkSuite(): NetworkSuite {
  let host: HostState;
  const suite = { events: [] as PodEvent[] } as NetworkSuite;
  suite.options = (network = suite.net.options) => ({ network, onEvent: (e) => suite.events.push(e) });
  beforeAll(() => (host = snapshotHost()));
  afterAll(() => restoreHost(host));
  freshRootPerTest((r) => {
    suite.root = r;
    suite.net = makeTestNetwork(10 + Math.floor(Math.random() * 200));
    suite.events.length = 0;
  });
  afterEach(async () => {
    for (const r of suite.root.runtimes) await r.stop({ force: true });
    suite.net.remove();
  });
  return suite;
}
