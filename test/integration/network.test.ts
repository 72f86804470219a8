// The pod network over CNI with Debian's real plugins (bridge, host-local,
// portmap, firewall) on a network of the test's own: pod IPs in status,
// pods reaching each other and the host reaching pods, hostPort through
// portmap, /etc/hosts, and teardown that leaves no link, rule, reservation,
// pin or record. Only addresses inside the pods' namespaces are contacted.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { execIn, isRoot, nsInode, pod, sh } from './helpers.js';
import { eventually, expectNetworkClean, guard, httpGet, iptablesRules, linksOnBridge, makeTestNetwork, networkSuite, reservations } from './network-harness.js';
import { containerPid, start } from './pods.js';

/** A web server on :8080 that answers with `text`. */
const web = (name: string, text: string, extra = {}): ReturnType<typeof sh> =>
  sh(name, `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 8080 -h /www`, extra);

describe.skipIf(!isRoot)('pod network over CNI (root, real plugins)', () => {
  const suite = networkSuite();
  const ipOf = (s: Awaited<ReturnType<typeof start>>): string => {
    const ip = s.runtime.computeStatus().podIP ?? '';
    suite.net.seen.add(ip);
    return guard([suite.net], ip);
  };

  it('gives each pod an IP in status; pods reach each other both ways, the host reaches them, containers share the IP; DEL leaves nothing', async () => {
    const a = await start(suite.root, pod('net-a', [web('web', 'from-a'), sh('side', 'sleep 60')]), suite.options());
    const b = await start(suite.root, pod('net-b', [web('web', 'from-b')]), suite.options());
    const ipA = ipOf(a);
    const ipB = ipOf(b);
    expect(ipA).not.toBe(ipB);
    const status = a.runtime.computeStatus();
    expect(status.podIPs).toEqual([{ ip: ipA }]);
    expect(status.hostIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(status.hostIPs?.[0]?.ip).toBe(status.hostIP);

    // The host reaches each pod's server on its IP.
    expect(await eventually('pod a to answer', () => httpGet([suite.net], ipA, 8080))).toBe('from-a');
    expect(await eventually('pod b to answer', () => httpGet([suite.net], ipB, 8080))).toBe('from-b');
    // TCP both ways, between the pods.
    const aToB = await execIn(containerPid(a, 'side'), ['wget', '-qO-', `http://${ipB}:8080/`]);
    expect(aToB.stdout.trim()).toBe('from-b');
    const bToA = await execIn(containerPid(b, 'web'), ['wget', '-qO-', `http://${ipA}:8080/`]);
    expect(bToA.stdout.trim()).toBe('from-a');

    // Both containers of pod a see eth0 with the pod's address: one namespace, one IP.
    for (const c of ['web', 'side']) {
      const addr = await execIn(containerPid(a, c), ['ip', '-4', '-o', 'addr', 'show', 'eth0']);
      expect(addr.stdout, c).toContain(` ${ipA}/`);
      expect(nsInode(containerPid(a, c), 'net')).toBe(nsInode(a.runtime.sandbox.pid, 'net'));
    }
    // /etc/hosts names the pod by its IP, as the kubelet writes it.
    const hosts = await execIn(containerPid(a, 'side'), ['cat', '/etc/hosts']);
    expect(hosts.stdout).toContain(`${ipA}\tnet-a\n`);
    // Attached: one veth per pod on the bridge, one reservation per pod, a masquerade rule per pod.
    expect(linksOnBridge(suite.net)).toHaveLength(2);
    expect(reservations(suite.net).sort()).toEqual([ipA, ipB].sort());
    expect(iptablesRules().filter((l) => l.includes(suite.net.name) && l.includes('MASQUERADE'))).toHaveLength(2);

    await Promise.all([a.runtime.stop({ force: true }), b.runtime.stop({ force: true })]);
    await expectNetworkClean(suite.net, suite.root);
    expect(await httpGet([suite.net], ipA, 8080, 500)).toBeNull();
  });

  it('hostPort: the pod answers on 127.0.0.1:<hostPort>; a second pod asking for it is refused (NodePorts); after delete nothing answers and no rule is left', async () => {
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const ports = [{ containerPort: 8080, hostPort }];
    const a = await start(suite.root, pod('hp-a', [web('web', 'hostport-a', { ports })]), suite.options());
    ipOf(a);
    expect(await eventually('the hostPort to answer', () => httpGet([suite.net], '127.0.0.1', hostPort))).toBe('hostport-a');
    expect(iptablesRules().some((l) => l.includes(`--dport ${hostPort}`))).toBe(true);

    await expect(start(suite.root, pod('hp-b', [web('web', 'hostport-b', { ports })]), suite.options())).rejects.toThrow(
      /^NodePorts: Predicate NodePorts failed: node\(s\) didn't have free ports for the requested pod ports: pod "hp-b" asks for hostPort \d+\/TCP, and pod "hp-a" holds/,
    );
    // Refused at admission: nothing of hp-b was made.
    expect(linksOnBridge(suite.net)).toHaveLength(1);

    await a.runtime.stop({ force: true });
    expect(await httpGet([suite.net], '127.0.0.1', hostPort, 500)).toBeNull();
    expect(iptablesRules().filter((l) => l.includes(`--dport ${hostPort}`))).toEqual([]);
    await expectNetworkClean(suite.net, suite.root);
  });

  it('writes /etc/hosts with the FQDN and hostAliases, and resolv.conf from dnsConfig (dnsPolicy None)', async () => {
    const s = await start(
      suite.root,
      pod('dns', [sh('c', 'sleep 60')], [], {
        hostname: 'web-0',
        subdomain: 'web',
        hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }],
        dnsPolicy: 'None',
        dnsConfig: { nameservers: ['10.199.0.10'], searches: ['ns1.svc.cluster.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
      }),
      suite.options(),
    );
    const ip = ipOf(s);
    const c = containerPid(s, 'c');
    const hosts = (await execIn(c, ['cat', '/etc/hosts'])).stdout;
    expect(hosts).toContain(`${ip}\tweb-0.web.default.svc.cluster.local\tweb-0\n`);
    expect(hosts).toContain('# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n');
    expect((await execIn(c, ['cat', '/etc/resolv.conf'])).stdout).toBe('search ns1.svc.cluster.local\nnameserver 10.199.0.10\noptions ndots:2 edns0\n');
    await s.runtime.stop({ force: true });
    await expectNetworkClean(suite.net, suite.root);
  });

  it('hostNetwork pods skip CNI: the host\'s addresses, no attachment', async () => {
    const s = await start(suite.root, pod('hostnet', [sh('c', 'sleep 60')], [], { hostNetwork: true }), suite.options());
    const status = s.runtime.computeStatus();
    expect(status.podIP).toBe(status.hostIP);
    expect(nsInode(containerPid(s, 'c'), 'net')).toBe(nsInode(process.pid, 'net'));
    expect(linksOnBridge(suite.net)).toEqual([]);
    await s.runtime.stop({ force: true });
    await expectNetworkClean(suite.net, suite.root);
  });

  it('a pause that dies gets a new attachment; the old one is deleted', async () => {
    const s = await start(suite.root, { ...pod('resandbox', [sh('c', 'sleep 60')]), spec: { containers: [sh('c', 'sleep 60')], restartPolicy: 'Always' } }, suite.options());
    const first = ipOf(s);
    const firstPause = s.runtime.sandbox.pid;
    process.kill(firstPause, 'SIGKILL');
    await eventually('a new pause with an address', async () => {
      const st = s.runtime.computeStatus();
      return s.runtime.sandbox.pid !== firstPause && st.podIP && s.runtime.containers.get('c')?.running ? st.podIP : null;
    });
    suite.root.pids.add(s.runtime.sandbox.pid);
    const second = ipOf(s);
    expect(second).not.toBe(first);
    // Only the new attachment is there: one veth, one reservation.
    expect(linksOnBridge(suite.net)).toHaveLength(1);
    expect(reservations(suite.net)).toEqual([second]);
    const addr = await execIn(containerPid(s, 'c'), ['ip', '-4', '-o', 'addr', 'show', 'eth0']);
    expect(addr.stdout).toContain(` ${second}/`);
    await s.runtime.stop({ force: true });
    await expectNetworkClean(suite.net, suite.root);
  });

  it('with CNI 0.4.0 too, and CHECK reports a pod whose route went away', async () => {
    suite.net.writeConfig({ ...suite.net.standardList(), cniVersion: '0.4.0' });
    const s = await start(suite.root, pod('check', [sh('c', 'sleep 60')]), { ...suite.options(), network: { ...suite.net.options, checkDelayMs: 1000 } });
    ipOf(s);
    // Someone removes the pod's default route before the CHECK that follows ADD (1 s later): bridge's CHECK says so.
    execFileSync('nsenter', ['-t', String(s.runtime.sandbox.pid), '-n', 'ip', 'route', 'del', 'default']);
    await eventually('a NetworkCheckFailed event', async () => suite.events.find((e) => e.reason === 'NetworkCheckFailed') ?? null);
    expect(suite.events.find((e) => e.reason === 'NetworkCheckFailed')?.message).toMatch(/plugin type="bridge" name=".*" failed \(check\)/);
    await s.runtime.stop({ force: true });
    await expectNetworkClean(suite.net, suite.root);
  });

  it('releases addresses: 60 create/delete cycles on a network whose range holds 14 addresses never run out', async () => {
    suite.net.remove();
    suite.net = makeTestNetwork(10 + Math.floor(Math.random() * 200), 28);
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const s = await start(suite.root, pod(`cycle-${i}`, [sh('c', 'sleep 60')]), suite.options());
      seen.add(ipOf(s));
      await s.runtime.stop({ force: true });
    }
    // host-local hands out the next free address in turn: every usable one was used, and given back.
    expect(seen.size).toBe(13);
    expect([...seen].every((ip) => suite.net.contains(ip))).toBe(true);
    await expectNetworkClean(suite.net, suite.root);
  }, 120_000);
});
