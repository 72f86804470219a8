// The CNI side, without root: configuration files as libcni reads them,
// results of 0.4.0 and 1.0.0, what each plugin gets on stdin, the plugin
// protocol itself (a script that speaks it), host ports and admission.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addNetworkList, delNetworkList, pluginConfig, type Attachment } from '../../src/network/cni.js';
import { loadNetwork, parseNetworkConfig } from '../../src/network/config.js';
import { DEFAULT_NETWORK, defaultNetworkList } from '../../src/network/default-network.js';
import { admitHostPorts, portMappings } from '../../src/network/host-ports.js';
import { networkOptionsFromEnv } from '../../src/network/options.js';
import { findPlugin } from '../../src/network/plugins.js';
import { parsePortPair } from '../../src/network/port-forward.js';
import { parseResult } from '../../src/network/result.js';
import type { PodSpec } from '../../src/manifest/types.js';

const tmp = mkdtempSync(join(tmpdir(), 'peapod-cni-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('network configuration files', () => {
  it('takes the first valid file by name, .conf/.conflist/.json only, skipping broken ones with the reason', () => {
    const dir = join(tmp, 'conf');
    mkdirSync(dir);
    writeFileSync(join(dir, '00-notes.txt'), 'ignored');
    writeFileSync(join(dir, '05-broken.conflist'), '{"cniVersion":"1.0.0","name":"x","plugins":[]}');
    writeFileSync(join(dir, '10-single.conf'), '{"cniVersion":"0.4.0","name":"single","type":"bridge","bridge":"br9"}');
    writeFileSync(join(dir, '20-list.conflist'), '{"cniVersion":"1.0.0","name":"later","plugins":[{"type":"bridge"}]}');
    const { network, skipped } = loadNetwork(dir);
    expect(network?.source).toBe(join(dir, '10-single.conf'));
    // A lone plugin becomes a list of one, its own keys kept.
    expect(network?.list).toEqual({ cniVersion: '0.4.0', name: 'single', plugins: [{ type: 'bridge', bridge: 'br9' }] });
    expect(skipped).toEqual([{ file: join(dir, '05-broken.conflist'), reason: `${join(dir, '05-broken.conflist')}: "plugins" must be a non-empty list of plugin configurations` }]);
    expect(loadNetwork(join(tmp, 'missing'))).toEqual({ network: null, skipped: [] });
  });

  it.each([
    ['{', /f\.conflist: not valid JSON/],
    ['{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}', /"name" is missing; every network needs one/],
    ['{"name":"n","plugins":[{"type":"bridge"}]}', /"cniVersion" is missing; write "cniVersion": "1.0.0"/],
    ['{"cniVersion":"0.2.0","name":"n","plugins":[{"type":"bridge"}]}', /cniVersion "0.2.0" is not supported; use one of 0.3.0, 0.3.1, 0.4.0, 1.0.0/],
    ['{"cniVersion":"1.0.0","name":"n","plugins":[{"bridge":"b"}]}', /plugins\[0\]: "type" is missing/],
    ['{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]}', /must be a plugin name, not a path/],
  ])('refuses %s naming the file and the fix', (text, message) => {
    expect(() => parseNetworkConfig(text, 'f.conflist')).toThrow(message);
  });

  it('the default network does not overlap podman\'s, Docker\'s or Kubernetes\' usual ranges', () => {
    const range = (cidr: string): [number, number] => {
      const [ip = '', bits = '0'] = cidr.split('/');
      const base = ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
      return [base, base + 2 ** (32 - Number(bits))];
    };
    const [a0, a1] = range(DEFAULT_NETWORK.subnet);
    for (const other of ['10.88.0.0/16', '172.17.0.0/16', '10.244.0.0/16', '10.96.0.0/12', '10.42.0.0/16', '10.89.0.0/16']) {
      const [b0, b1] = range(other);
      expect(a0 < b1 && b0 < a1, other).toBe(false);
    }
    const list = defaultNetworkList();
    expect(list.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'firewall']);
    expect(list.plugins[0]).toMatchObject({ bridge: 'peapod0', isGateway: true, ipMasq: true, ipam: { type: 'host-local' } });
  });
});

describe('results', () => {
  it('reads 1.0.0: the addresses of eth0 in the sandbox, IPv4 first', () => {
    const raw = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'br0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [
        { interface: 2, address: 'fd00::5/64' },
        { interface: 2, address: '10.1.0.5/24', gateway: '10.1.0.1' },
        { interface: 0, address: '10.1.0.1/24' },
      ],
    };
    expect(parseResult(raw, 'eth0', 'bridge').ips).toEqual(['10.1.0.5', 'fd00::5']);
  });

  it('reads 0.4.0 (ips with version) and results that name no interface', () => {
    const raw = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.2.0.7/16' }] };
    expect(parseResult(raw, 'eth0', 'x')).toMatchObject({ cniVersion: '0.4.0', ips: ['10.2.0.7'] });
    expect(() => parseResult({ cniVersion: '1.0.0', ips: [{ address: 'nope' }] }, 'eth0', 'x')).toThrow(/"nope" is not an address in CIDR form/);
  });
});

const attachment = (list: Attachment['list'], pluginDirs: string[]): Attachment => ({
  list,
  containerId: 'c0ffee',
  netns: '/run/peapod/network/c0ffee.netns',
  ifName: 'eth0',
  args: [['K8S_POD_NAME', 'web'], ['K8S_POD_NAMESPACE', 'default']],
  pluginDirs,
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
});

describe('what a plugin reads', () => {
  it('gets the list\'s name and version, prevResult, and runtimeConfig only for the capabilities it declares', () => {
    const list = { cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'bridge' }, { type: 'portmap', capabilities: { portMappings: true } }] };
    const a = attachment(list, []);
    expect(pluginConfig(a, list.plugins[0]!, null)).toEqual({ type: 'bridge', name: 'net', cniVersion: '1.0.0' });
    expect(pluginConfig(a, list.plugins[1]!, { ips: [] })).toEqual({
      type: 'portmap',
      capabilities: { portMappings: true },
      name: 'net',
      cniVersion: '1.0.0',
      prevResult: { ips: [] },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    });
  });

  it('runs plugins by the protocol: env, stdin, result chained; DEL in reverse; errors in the plugin\'s words', async () => {
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    const log = join(tmp, 'calls.log');
    // A plugin that speaks CNI: logs its call, returns prevResult (or a result of its own), fails when told to.
    const script = `#!/bin/sh
conf=$(cat)
echo "$CNI_COMMAND $(basename $0) $CNI_CONTAINERID $CNI_IFNAME $CNI_NETNS $CNI_ARGS $CNI_PATH" >> ${log}
case "$conf" in *'"fail":true'*) echo '{"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"field x"}'; exit 1;; esac
[ "$CNI_COMMAND" = ADD ] || exit 0
case "$conf" in
  *prevResult*) echo "$conf" | sed 's/.*"prevResult":\\(.*\\)}$/\\1/' ;;
  *) echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"interface":0,"address":"10.3.0.9/24"}]}' ;;
esac
`;
    for (const name of ['first', 'second']) {
      writeFileSync(join(bin, name), script);
      chmodSync(join(bin, name), 0o755);
    }
    const list = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'first' }, { type: 'second' }] };
    const result = await addNetworkList(attachment(list, [join(tmp, 'nowhere'), bin]));
    expect(result.ips).toEqual(['10.3.0.9']);
    await delNetworkList(attachment(list, [bin]), result.raw);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls.map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['ADD first', 'ADD second', 'DEL second', 'DEL first']);
    expect(calls[0]).toContain(`c0ffee eth0 /run/peapod/network/c0ffee.netns IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_NAMESPACE=default ${join(tmp, 'nowhere')}:${bin}`);

    const failing = { ...list, plugins: [{ type: 'first' }, { type: 'second', fail: true }] };
    await expect(addNetworkList(attachment(failing, [bin]))).rejects.toThrow('plugin type="second" name="n" failed (add): bad config: field x');
    expect(() => findPlugin('third', [bin])).toThrow(`failed to find plugin "third" in path [${bin}]`);
  });
});

describe('host ports', () => {
  const spec = (ports: NonNullable<PodSpec['containers'][number]['ports']>, extra: Partial<PodSpec> = {}): PodSpec => ({
    containers: [{ name: 'c', image: 'busybox', ports }],
    ...extra,
  });

  it('become portmap\'s portMappings (lower-case protocol, hostIP when given)', () => {
    expect(portMappings(spec([{ containerPort: 80, hostPort: 8080 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '127.0.0.1' }, { containerPort: 9 }]))).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
    ]);
    expect(portMappings(spec([{ containerPort: 80, hostPort: 80 }], { hostNetwork: true }))).toEqual([]);
  });

  it('are admitted as the kubelet does: same port and protocol clash when an address is shared or either is 0.0.0.0', () => {
    const held = [{ name: 'a', spec: spec([{ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1' }]) }];
    expect(() => admitHostPorts('b', spec([{ containerPort: 80, hostPort: 8080 }]), held)).toThrow(
      /^NodePorts: Predicate NodePorts failed: node\(s\) didn't have free ports for the requested pod ports: pod "b" asks for hostPort 8080\/TCP, and pod "a" holds 127\.0\.0\.1:8080\/TCP/,
    );
    expect(() => admitHostPorts('b', spec([{ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.2' }]), held)).not.toThrow();
    expect(() => admitHostPorts('b', spec([{ containerPort: 80, hostPort: 8080, protocol: 'UDP' }]), held)).not.toThrow();
    // On the host's network a containerPort is a hostPort.
    expect(() => admitHostPorts('h', spec([{ containerPort: 8080 }], { hostNetwork: true }), held)).toThrow(/NodePorts/);
  });
});

describe('options and port pairs', () => {
  it('reads PEAPOD_NETWORK, PEAPOD_CNI_CONF_DIR, PEAPOD_CNI_PATH, PEAPOD_CLUSTER_DNS', () => {
    expect(networkOptionsFromEnv({})).toMatchObject({ mode: 'cni', confDir: '/etc/cni/net.d', pluginDirs: ['/opt/cni/bin', '/usr/lib/cni'], clusterDNS: [], clusterDomain: 'cluster.local' });
    expect(networkOptionsFromEnv({ PEAPOD_NETWORK: 'none', PEAPOD_CNI_PATH: '/a:/b', PEAPOD_CLUSTER_DNS: '10.96.0.10' })).toMatchObject({ mode: 'none', pluginDirs: ['/a', '/b'], clusterDNS: ['10.96.0.10'] });
    expect(() => networkOptionsFromEnv({ PEAPOD_NETWORK: 'host' })).toThrow('PEAPOD_NETWORK=host: use cni (the default) or none (loopback only)');
  });

  it('parses [LOCAL:]REMOTE as kubectl does', () => {
    expect(parsePortPair('80')).toEqual({ local: 80, remote: 80 });
    expect(parsePortPair('8080:80')).toEqual({ local: 8080, remote: 80 });
    expect(parsePortPair(':80')).toEqual({ local: 0, remote: 80 });
    expect(() => parsePortPair('80:0')).toThrow('"80:0": the remote port must be between 1 and 65535');
    expect(() => parsePortPair('1:2:3')).toThrow('write [LOCAL:]REMOTE');
  });
});
