#!/usr/bin/env bash
# The CRI as Kubernetes' own clients see it, against `peapod daemon`'s socket,
# with the cri-tools kit (../shared/cri-tools, or $CRI_KIT):
#   1. critest v1.29, the whole suite;
#   2. the kit's crictl smoke (24 checks);
#   3. a SIGKILL of the daemon in critest's idle time: crictl's sandbox left
#      (busybox running, nginx on its pod IP and a hostPort, a container that
#      exited 4), a focused critest run, kill -9, the next daemon: the same
#      sandbox, containers and statuses listed, exec, logs, the pod IP and the
#      hostPort answer, the whole suite passes again, and removing the sandbox
#      leaves nothing (processes, mounts, network, state).
# usage: sudo scripts/cri-check.sh    (the work directory is kept when a check fails, or with KEEP=1)
# Needs the kit installed (install.sh, make-images.sh); its registry is started
# when it does not answer, and then left running (its pid is printed). All the
# rest is in a new /tmp/peapod-cri-check-*: the state root, an image store, a
# CNI bridge of its own (ppcrichk0, 10.199.251.0/24), removed at the end
# when every check passed.
# Exit status: the number of failed checks.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
KIT=${CRI_KIT:-$REPO/../shared/cri-tools}
. "$KIT/env.sh"
W=$(mktemp -d /tmp/peapod-cri-check-XXXXXX); R=$W/root; EP=unix://$R/cri.sock
C="$CRI/bin/crictl --runtime-endpoint $EP --image-endpoint $EP --timeout 60s"
# Named like the test suite's networks: its host clean-up (network-harness.ts) leaves the rules of networks it did not make.
NET=peapod-test-251-crichk; BRIDGE=ppcrichk0
fail=0
check() { if [ "$2" = "$3" ]; then echo "OK   $1: $2"; else echo "FAIL $1: $2 (expected $3)"; fail=$((fail + 1)); fi; }

if ! curl -sf --max-time 3 "http://$REG/v2/" >/dev/null; then echo "registry started, pid $("$KIT/start-registry.sh") (kill it when done)"; fi
mkdir -p "$W/net.d" "$W/ipam"
cat > "$W/net.d/10-check.conflist" <<J
{"cniVersion":"1.0.0","name":"$NET","plugins":[
 {"type":"bridge","bridge":"$BRIDGE","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.199.251.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"$W/ipam"}},
 {"type":"portmap","capabilities":{"portMappings":true}},
 {"type":"firewall"}]}
J
# critest names registry.k8s.io and gcr.io images; the smoke names the registry itself.
for p in registry.k8s.io gcr.io "$REG"; do printf '[[registry]]\nprefix = "%s"\nlocation = "%s"\ninsecure = true\n\n' "$p" "$REG"; done > "$W/registries.conf"

# `peapod daemon` in the foreground, as systemd runs it; $1: its output file. Prints the pid of `peapod daemon`.
daemon() {
  : > "$1"
  CONTAINERS_REGISTRIES_CONF=$W/registries.conf PEAPOD_IMAGES=$W/images PEAPOD_CNI_CONF_DIR=$W/net.d PEAPOD_CNI_PATH=/usr/lib/cni \
    node "$REPO/bin/peapod.js" daemon --root "$R" > "$1" 2>&1 < /dev/null &
  echo $!
  for _ in $(seq 100); do grep -q 'serving /' "$1" && return; sleep 0.2; done
}
statuses() { for c in "$@"; do $C inspect "$c" | jq -c '.status | {id, state, exitCode, imageRef, logPath, labels, annotations}'; done; }

daemon "$W/daemon1.out" > "$W/fg1.pid"
head -1 "$W/daemon1.out"
s=$(date +%s); summary=$(OUT=$W/critest1 "$KIT/run-critest.sh" "$EP" 2>/dev/null)
check "critest, the whole suite ($(($(date +%s) - s)) s)" "$summary" "77 passed, 0 failed, 6 skipped"
"$KIT/crictl-smoke.sh" "$EP" > "$W/smoke.out" 2>&1
check "crictl smoke" "$(grep -c '^OK' "$W/smoke.out") OK, $(grep -c '^FAIL' "$W/smoke.out") FAIL" "24 OK, 0 FAIL"

# crictl's sandbox, left running through the kill.
G=$W/left; mkdir -p "$G/logs"
sed "s#@LOGDIR@#$G/logs#" "$KIT/smoke/pod.json" > "$G/pod.json"
sed "s|@BUSYBOX@|$REG/e2e-test-images/busybox:1.29-2|" "$KIT/smoke/container.yaml.in" > "$G/busybox.yaml"
sed "s|@NGINX@|$REG/e2e-test-images/nginx:1.14-2|" "$KIT/smoke/web.json.in" > "$G/web.json"
echo "{\"metadata\":{\"name\":\"exits-4\"},\"image\":{\"image\":\"$REG/e2e-test-images/busybox:1.29-2\"},\"command\":[\"sh\",\"-c\",\"echo bye; exit 4\"],\"log_path\":\"exits-4.log\",\"linux\":{}}" > "$G/exits.json"
POD=$($C runp "$G/pod.json"); CID=$($C create "$POD" "$G/busybox.yaml" "$G/pod.json"); WID=$($C create "$POD" "$G/web.json" "$G/pod.json"); XID=$($C create "$POD" "$G/exits.json" "$G/pod.json")
$C start "$CID" "$WID" "$XID" > /dev/null
for _ in $(seq 50); do [ "$($C inspect -o go-template --template '{{.status.state}}' "$XID")" = CONTAINER_EXITED ] && break; sleep 0.2; done
IP=$($C inspectp -o go-template --template '{{.status.network.ip}}' "$POD")
check "critest, a focused run before the kill" "$(FOCUS='Streaming.*(exec with|attach)|execSync' OUT=$W/critest2 "$KIT/run-critest.sh" "$EP" 2>/dev/null)" "5 passed, 0 failed, 78 skipped"
$C pods -o json | jq -c '[.items[] | {id, state, metadata, labels, annotations}]' > "$W/pods.before"
$C ps -a -o json | jq -c '[.containers[] | {id, podSandboxId, state, metadata, imageRef, labels, annotations}] | sort_by(.id)' > "$W/ps.before"
statuses "$CID" "$WID" "$XID" > "$W/statuses.before"

DPID=$(jq .pid "$R/daemon/daemon.json"); REAPER=$(jq .reaper.pid "$R/daemon/daemon.json")
kill -9 "$DPID"
for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
check "nginx on its pod IP while no daemon runs" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$IP:80/")" 200
daemon "$W/daemon2.out" > "$W/fg2.pid"
head -1 "$W/daemon2.out"
$C pods -o json | jq -c '[.items[] | {id, state, metadata, labels, annotations}]' > "$W/pods.after"
$C ps -a -o json | jq -c '[.containers[] | {id, podSandboxId, state, metadata, imageRef, labels, annotations}] | sort_by(.id)' > "$W/ps.after"
statuses "$CID" "$WID" "$XID" > "$W/statuses.after"
check "sandboxes listed after the restart, as before" "$(cmp -s "$W/pods.before" "$W/pods.after" && jq length "$W/pods.after")" 1
check "containers listed after the restart, as before" "$(cmp -s "$W/ps.before" "$W/ps.after" && jq length "$W/ps.after")" 3
check "statuses (id, state, exit code, image ref, log path, labels, annotations) as before" "$(cmp -s "$W/statuses.before" "$W/statuses.after" && jq -r '"\(.state) \(.exitCode)"' "$W/statuses.after" | paste -sd,)" "CONTAINER_RUNNING 0,CONTAINER_RUNNING 0,CONTAINER_EXITED 4"
check "exec into the adopted busybox" "$($C exec "$CID" sh -c 'echo $SMOKE; hostname' | paste -sd' ')" "yes smoke-pod"
check "its logs" "$($C logs "$CID" 2>&1 | head -1)" hello-from-smoke
check "nginx on its pod IP after the restart" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$IP:80/")" 200
check "its hostPort after the restart" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:18080/)" 200
check "critest, the whole suite after the restart (crictl's sandbox still there)" "$(OUT=$W/critest3 "$KIT/run-critest.sh" "$EP" 2>/dev/null)" "77 passed, 0 failed, 6 skipped"

$C stopp "$POD" > /dev/null; $C rmp "$POD" > /dev/null
for _ in $(seq 50); do case "$(ps -p "$REAPER" -o stat= 2>/dev/null)" in '' | Z*) break ;; esac; sleep 0.1; done
check "after rmp: sandboxes, containers, saved sandboxes, network attachments, pod dirs" \
  "$($C pods -q | wc -l) $($C ps -aq | wc -l) $(ls "$R/daemon/sandboxes" | wc -l) $(ls "$R/network" | wc -l) $(ls -A "$R/pods" | grep -vcE '^(lock|last_reserved)')" "0 0 0 0 0"
check "after rmp: ipam reservations, veths on the bridge, iptables rules of the network" \
  "$(ls "$W/ipam/$NET" 2>/dev/null | grep -c '^10\.') $(ip -o link show master "$BRIDGE" 2>/dev/null | wc -l) $(iptables-save | grep -c "$NET")" "0 0 0"
D2=$(jq .pid "$R/daemon/daemon.json")
check "after rmp: processes below the daemon, and below the killed one's reaper" "$(ps --ppid "$D2" -o pid= | wc -l) $(ps --ppid "$REAPER" -o pid= | wc -l)" "0 0"
check "the killed daemon's reaper, nothing left below it" "$(ps -p "$REAPER" -o stat= | grep -vc '^Z')" 0

FG=$(cat "$W/fg2.pid"); kill -TERM "$FG"
for _ in $(seq 50); do kill -0 "$FG" 2>/dev/null || break; sleep 0.2; done
check "stopped: processes of the root (reapers, pods), mounts under it" "$(ps -eo args= | grep -c "[ ]$R/") $(grep -c " $R/" /proc/self/mountinfo)" "0 0"
# What failed is looked at with the daemons' output and critest's logs: kept.
if [ "${KEEP:-0}" = 1 ] || [ "$fail" -gt 0 ]; then echo "kept: $W (the daemons' output: daemon1.out, daemon2.out)"; else ip link del "$BRIDGE" 2>/dev/null; rm -rf "$W"; fi
echo "cri-check: $fail failed"
exit "$fail"
