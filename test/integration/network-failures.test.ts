// When the pod network goes wrong: a plugin that fails (bad config, missing
// binary) fails the pod with the plugin's own words and leaves nothing; a
// DEL that fails is kept, reported, and retried by the next reclaim; a
// crashed supervisor's attachment is DELeted by the next peapod; with no
// plugins the pod has loopback only and a warning; an empty configuration
// directory means peapod's default network, said once.
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPinned } from '../../src/network/netns-pin.js';
import { listNetworkRecords } from '../../src/network/records.js';
import { podPaths } from '../../src/runtime/paths.js';
import { reclaimStalePods } from '../../src/node/stale.js';
import { readRecordFile } from '../../src/node/state.js';
import { peapod, spawnPeapod, type CliResult } from './cli-harness.js';
import { getPod, killDaemon, podPids } from './daemon-harness.js';
import { execIn, isAlive, isRoot, pod, sh, stopDaemon, waitFor } from './helpers.js';
import { expectNetworkClean, iptablesRules, linksOnBridge, networkSuite, realPluginDir, reservations } from './network-harness.js';
import { containerPid, start } from './pods.js';


describe.skipIf(!isRoot)('pod network failures and reclaim (root, real plugins)', () => {
  const suite = networkSuite();

  it('a bad configuration: the pod fails with the plugin\'s own message, and nothing is left', async () => {
    const list = suite.net.standardList();
    (list.plugins[0] as { ipam: { ranges: unknown } }).ipam.ranges = [[{ subnet: 'not-a-subnet' }]];
    suite.net.writeConfig(list);
    await expect(start(suite.root, pod('badconf', [sh('c', 'sleep 60')]), suite.options())).rejects.toThrow(
      /failed to set up the network of pod "badconf" .*plugin type="bridge" name="peapod-test-[^"]+" failed \(add\): .*invalid CIDR address: not-a-subnet/,
    );
    expect(suite.events.some((e) => e.reason === 'FailedCreatePodSandBox')).toBe(true);
    await expectNetworkClean(suite.net, suite.root);
  });

  it('a missing plugin binary: libcni\'s "failed to find plugin", and nothing is left', async () => {
    const list = suite.net.standardList();
    list.plugins.push({ type: 'no-such-plugin' });
    suite.net.writeConfig(list);
    await expect(start(suite.root, pod('nobin', [sh('c', 'sleep 60')]), suite.options())).rejects.toThrow(
      /plugin type="no-such-plugin" name="[^"]+" failed \(add\): failed to find plugin "no-such-plugin" in path \[\/[^\]]+\]/,
    );
    // The plugins before it had attached: the DEL after the failed ADD removed it all.
    await expectNetworkClean(suite.net, suite.root);
  });

  it('a DEL that fails is reported, kept (record and pinned namespace), and retried by the next reclaim', async () => {
    // The plugins through a directory of the test's own, so one can go missing between ADD and DEL.
    const dir = join(suite.net.dir, 'bin');
    mkdirSync(dir);
    for (const p of readdirSync(realPluginDir())) symlinkSync(join(realPluginDir(), p), join(dir, p));
    const s = await start(suite.root, pod('faildel', [sh('c', 'sleep 60')], [], { containers: [sh('c', 'sleep 60', { ports: [{ containerPort: 80, hostPort: 20080 + Math.floor(Math.random() * 9000) }] })] }), suite.options({ ...suite.net.options, pluginDirs: [dir] }));
    const ip = s.runtime.computeStatus().podIP as string;
    suite.net.seen.add(ip);
    rmSync(join(dir, 'portmap'));
    await s.runtime.stop({ force: true });
    const failed = suite.events.find((e) => e.reason === 'FailedKillPod');
    expect(failed?.message).toMatch(/failed to destroy the network of pod "faildel" .*plugin type="portmap" .*failed \(delete\): failed to find plugin "portmap"/);
    // Kept: the record (an orphan now) and its pin; the pod's interface and address too.
    const [record] = listNetworkRecords(suite.root.paths);
    expect(record?.orphan).toBe(true);
    expect(isPinned(record?.attachment.netns ?? '')).toBe(true);
    expect(reservations(suite.net)).toEqual([ip]);
    expect(linksOnBridge(suite.net)).toHaveLength(1);

    // The next reclaim retries it, and reports it again while it still fails.
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      await reclaimStalePods(suite.root.paths);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join('')).toMatch(/peapod: failed to destroy the network of pod "faildel"/);
    expect(listNetworkRecords(suite.root.paths)).toHaveLength(1);
    symlinkSync(join(realPluginDir(), 'portmap'), join(dir, 'portmap'));
    await reclaimStalePods(suite.root.paths);
    await expectNetworkClean(suite.net, suite.root);
  });

  it('a crashed supervisor\'s attachment is deleted by the next reclaim', async () => {
    const file = join(suite.root.dir, 'p.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata: {name: crashed}\nspec:\n  containers:\n  - {name: c, image: busybox, command: [sleep, "60"]}\n');
    const env = { PEAPOD_NETWORK: 'cni', PEAPOD_CNI_CONF_DIR: suite.net.confDir, PEAPOD_CNI_PATH: suite.net.pluginDirs.join(':') };
    // The supervisor of a foreground run (a pod of the node daemon outlives the daemon: below).
    spawnPeapod(suite.root, ['run', '-f', file], env);
    const recordPath = podPaths(suite.root.paths, 'crashed').recordFile;
    await waitFor('the pod to run', () => {
      const r = readRecordFile(recordPath);
      return 'value' in r && r.value.containers.c !== undefined && listNetworkRecords(suite.root.paths).some((n) => n.result !== null);
    }, 10_000);
    const read = readRecordFile(recordPath);
    const record = 'value' in read ? read.value : null;
    const pause = record?.sandbox?.pid as number;
    suite.root.pids.add(pause);
    const [attachment] = listNetworkRecords(suite.root.paths);
    suite.net.seen.add(reservations(suite.net)[0] ?? '');
    expect(linksOnBridge(suite.net)).toHaveLength(1);
    process.kill(record?.supervisor.pid as number, 'SIGKILL');
    await waitFor('pause to die with its supervisor', () => !isAlive(pause));
    // The namespace is still pinned: the interface is there for the DEL to remove.
    expect(isPinned(attachment?.attachment.netns ?? '')).toBe(true);
    await reclaimStalePods(suite.root.paths);
    await expectNetworkClean(suite.net, suite.root);
    // The tombstone goes with a delete, as for any dead pod.
    expect(await peapod(suite.root, ['delete', 'pod', 'crashed'], env)).toMatchObject({ code: 0, stdout: 'pod "crashed" deleted\n' });
  });

  it('a pod of a killed daemon keeps its attachment (pause owns it): the next daemon adopts its address, and its delete DELs it', async () => {
    const file = join(suite.root.dir, 'p.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata: {name: kept}\nspec:\n  containers:\n  - {name: c, image: busybox, command: [sleep, "60"]}\n');
    const env = { ...process.env, PEAPOD_NETWORK: 'cni', PEAPOD_CNI_CONF_DIR: suite.net.confDir, PEAPOD_CNI_PATH: suite.net.pluginDirs.join(':') };
    const cli = (args: string[]): Promise<CliResult> => peapod(suite.root, args, env);
    expect(await cli(['run', '-d', '-f', file])).toMatchObject({ code: 0 });
    const [pause, container] = podPids(suite.root, 'kept') as [number, number];
    const ip = (await getPod(suite.root, 'kept', env)).status.podIP as string;
    suite.net.seen.add(ip);
    expect(suite.net.contains(ip)).toBe(true);
    const [attachment] = listNetworkRecords(suite.root.paths);
    expect(attachment?.owner.pid).toBe(pause);
    await killDaemon(suite.root);
    // A reclaim by anyone (a foreground run) leaves it: its owner, pause, lives.
    await reclaimStalePods(suite.root.paths);
    expect(listNetworkRecords(suite.root.paths)).toHaveLength(1);
    expect(linksOnBridge(suite.net)).toHaveLength(1);
    expect((await execIn(container, ['ip', '-o', '-4', 'addr', 'show', 'eth0'])).stdout).toContain(`${ip}/`);
    // The next daemon reports the same address, and ends the attachment with the pod.
    expect((await getPod(suite.root, 'kept', env)).status.podIP).toBe(ip);
    expect(isAlive(pause)).toBe(true);
    expect(await cli(['delete', 'pod', 'kept'])).toMatchObject({ code: 0 });
    await stopDaemon(suite.root);
    await expectNetworkClean(suite.net, suite.root);
  });

  it('no plugins installed: loopback only, with a warning naming the package', async () => {
    const empty = join(suite.net.dir, 'empty');
    mkdirSync(empty);
    const s = await start(suite.root, pod('noplugins', [sh('c', 'sleep 60')]), suite.options({ ...suite.net.options, confDir: empty, pluginDirs: [empty] }));
    const warning = suite.events.find((e) => e.reason === 'NetworkNotReady');
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).toMatch(/the pod has its own loopback only; install Debian's containernetworking-plugins/);
    expect(s.runtime.computeStatus().podIP).toBeUndefined();
    const links = await execIn(containerPid(s, 'c'), ['ip', '-o', 'link']);
    expect(links.stdout.trim().split('\n').map((l) => l.split(':')[1]?.trim())).toEqual(['lo']);
    await s.runtime.stop({ force: true });
    expect(existsSync(join(suite.root.dir, 'network')) ? readdirSync(join(suite.root.dir, 'network')) : []).toEqual([]);
  });

  it('an empty configuration directory: peapod\'s default network (here with the test\'s bridge and range), said in an event', async () => {
    rmSync(join(suite.net.confDir, '10-test.conflist'));
    const shape = { name: suite.net.name, bridge: suite.net.bridge, subnet: suite.net.subnet, dataDir: suite.net.ipamDir };
    const s = await start(suite.root, pod('default', [sh('c', 'sleep 60')]), suite.options({ ...suite.net.options, defaultNetwork: shape }));
    const ip = s.runtime.computeStatus().podIP as string;
    suite.net.seen.add(ip);
    expect(suite.net.contains(ip)).toBe(true);
    expect(suite.events.find((e) => e.reason === 'DefaultNetwork')?.message).toContain(`using peapod's default network "${suite.net.name}" (bridge ${suite.net.bridge}, ${suite.net.subnet})`);
    // bridge with masquerade, portmap's and firewall's chains: the default list's plugins all ran.
    expect(iptablesRules().some((l) => l.includes(suite.net.name) && l.includes('MASQUERADE'))).toBe(true);
    expect(iptablesRules().some((l) => l.startsWith('-A CNI-FORWARD') && l.includes(`${ip}/32`))).toBe(true);
    await s.runtime.stop({ force: true });
    await expectNetworkClean(suite.net, suite.root);
  });

  it('a configuration file that is not valid is skipped with a warning; the next one by name is used', async () => {
    writeFileSync(join(suite.net.confDir, '00-broken.conflist'), '{"cniVersion": "1.0.0", "plugins": []}');
    const s = await start(suite.root, pod('skip', [sh('c', 'sleep 60')]), suite.options());
    suite.net.seen.add(s.runtime.computeStatus().podIP as string);
    expect(suite.events.find((e) => e.reason === 'NetworkConfigSkipped')?.message).toMatch(/00-broken\.conflist: "name" is missing/);
    expect(suite.net.contains(s.runtime.computeStatus().podIP as string)).toBe(true);
    await s.runtime.stop({ force: true });
    await expectNetworkClean(suite.net, suite.root);
  });
});
