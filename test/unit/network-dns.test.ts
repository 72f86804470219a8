// /etc/hosts and /etc/resolv.conf as the kubelet makes them, per dnsPolicy,
// dnsConfig, hostAliases, subdomain and hostNetwork; and the API server's
// checks of dnsConfig and hostAliases.
import { describe, expect, it } from 'vitest';
import { renderHosts } from '../../src/network/hosts-file.js';
import { parseResolvConf, podDns, renderResolvConf } from '../../src/network/resolv-conf.js';
import { readPods } from '../../src/manifest/index.js';
import type { PodSpec } from '../../src/manifest/types.js';

const HOST = '# host\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions rotate timeout:2\n';
const base: PodSpec = { containers: [{ name: 'c', image: 'busybox' }] };
const dns = (spec: Partial<PodSpec>, clusterDNS: string[] = []): ReturnType<typeof podDns> =>
  podDns({ spec: { ...base, ...spec }, namespace: 'team', hostResolvConf: HOST, clusterDNS, clusterDomain: 'cluster.local' });

describe('resolv.conf', () => {
  it('Default: the node\'s nameservers, search and options, re-rendered', () => {
    const { settings, warnings } = dns({ dnsPolicy: 'Default' });
    expect(renderResolvConf(settings)).toBe('search corp.example lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions rotate timeout:2\n');
    expect(warnings).toEqual([]);
  });

  it('ClusterFirst with a cluster DNS: its server, the cluster\'s search path before the node\'s, ndots:5', () => {
    const { settings } = dns({}, ['10.96.0.10']);
    expect(renderResolvConf(settings)).toBe('search team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n');
  });

  it('ClusterFirst without one falls back to Default, with the kubelet\'s event', () => {
    const { settings, warnings } = dns({ dnsPolicy: 'ClusterFirst' });
    expect(settings.servers).toEqual(['192.0.2.53', '192.0.2.54']);
    expect(warnings).toEqual([expect.objectContaining({ reason: 'MissingClusterDNS', message: expect.stringContaining('Falling back to "Default" policy.') })]);
    // On the host's network ClusterFirst is Default, silently; ClusterFirstWithHostNet is ClusterFirst.
    expect(dns({ hostNetwork: true }).warnings).toEqual([]);
    expect(dns({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }, ['10.96.0.10']).settings.servers).toEqual(['10.96.0.10']);
  });

  it('None takes dnsConfig alone; dnsConfig merges into any policy, its options winning by name', () => {
    expect(renderResolvConf(dns({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'] } }).settings)).toBe('nameserver 1.1.1.1\n');
    const merged = dns({ dnsPolicy: 'Default', dnsConfig: { nameservers: ['192.0.2.53', '10.0.0.1'], searches: ['x.example'], options: [{ name: 'timeout', value: '5' }, { name: 'edns0' }] } }).settings;
    expect(merged).toEqual({ servers: ['192.0.2.53', '192.0.2.54', '10.0.0.1'], searches: ['corp.example', 'lab.example', 'x.example'], options: ['rotate', 'timeout:5', 'edns0'] });
  });

  it('keeps resolv.conf\'s limits: 3 nameservers, with the kubelet\'s warning', () => {
    const { settings, warnings } = dns({ dnsPolicy: 'Default', dnsConfig: { nameservers: ['10.0.0.1', '10.0.0.2'] } });
    expect(settings.servers).toEqual(['192.0.2.53', '192.0.2.54', '10.0.0.1']);
    expect(warnings[0]?.message).toBe('Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 192.0.2.53 192.0.2.54 10.0.0.1');
  });

  it('parses comments, domain and the last search line as the resolver does', () => {
    expect(parseResolvConf('domain a.example\nsearch b.example c.example # two\n; x\nnameserver 10.0.0.1\n')).toEqual({ servers: ['10.0.0.1'], searches: ['b.example', 'c.example'], options: [] });
  });
});

describe('/etc/hosts', () => {
  const input = { hostname: 'web-0', namespace: 'team', podIPs: ['10.77.0.5'], clusterDomain: 'cluster.local', nodeHosts: '127.0.0.1 localhost\n192.0.2.2 node\n' };
  it('is the kubelet\'s: loopback names, the pod IP with its hostname (and FQDN with a subdomain), then hostAliases', () => {
    const text = renderHosts({ ...input, spec: { ...base, subdomain: 'web', hostAliases: [{ ip: '10.1.2.3', hostnames: ['a.local', 'b.local'] }] } });
    expect(text).toBe(
      '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n' +
        '10.77.0.5\tweb-0.web.team.svc.cluster.local\tweb-0\n\n# Entries added by HostAliases.\n10.1.2.3\ta.local\tb.local\n',
    );
    expect(renderHosts({ ...input, podIPs: [], spec: base })).toContain('127.0.1.1\tweb-0\n');
  });

  it('is the node\'s own file on the host\'s network, aliases after it', () => {
    expect(renderHosts({ ...input, spec: { ...base, hostNetwork: true, hostAliases: [{ ip: '10.9.9.9', hostnames: ['z'] }] } })).toBe(
      '# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n192.0.2.2 node\n\n# Entries added by HostAliases.\n10.9.9.9\tz\n',
    );
  });
});

describe('dnsConfig and hostAliases in a manifest', () => {
  const read = (spec: string): string[] => {
    try {
      readPods(`apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: busybox}]\n${spec}`, 'p.yaml');
      return [];
    } catch (err) {
      return (err as { issues?: Array<{ path: string; message: string; severity: string }> }).issues?.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`) ?? [(err as Error).message];
    }
  };
  it('accepts them', () => {
    expect(read('  hostAliases: [{ip: 10.1.2.3, hostnames: [a.local]}]\n  dnsPolicy: None\n  dnsConfig: {nameservers: [1.1.1.1], searches: [x.example.], options: [{name: ndots, value: "2"}]}\n')).toEqual([]);
  });
  it('refuses what the API server refuses, by field', () => {
    expect(read('  hostAliases: [{ip: nope, hostnames: [A_B]}]\n')).toEqual([
      'spec.hostAliases[0].ip: must be a valid IP address, got "nope"',
      expect.stringMatching(/^spec\.hostAliases\[0\]\.hostnames\[0\]: invalid name "A_B"/),
    ]);
    expect(read('  dnsPolicy: None\n  dnsConfig: {searches: [a.example]}\n')).toEqual(['spec.dnsConfig.nameservers: must provide at least one DNS nameserver when dnsPolicy is None']);
    expect(read('  dnsConfig: {nameservers: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4], options: [{value: "1"}]}\n')).toEqual([
      'spec.dnsConfig.nameservers: must not have more than 3 nameservers (it has 4)',
      'spec.dnsConfig.options[0].name: required value: every dnsConfig option needs a name, e.g. name: ndots',
    ]);
  });
});
