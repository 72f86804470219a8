#!/usr/bin/env bash
# Regenerates docs/pod.svg, the README's picture: `peapod inspect -o svg` of
# a live pod of examples/two-containers.yaml, under a state root of its own
# that is removed afterwards. Needs root, as running a pod does:
#   sudo bash scripts/figure.sh [OUT.svg]
# The example's debian-container ends once it has fetched its page; here it
# then sleeps, so that the picture shows both containers running.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/pod.svg}
peapod() { node bin/peapod.js "$@" --root "$root"; }
root=$(mktemp -d /tmp/peapod-figure.XXXXXX)
trap 'peapod delete pod two-containers --grace-period 1 >/dev/null 2>&1 || true; rm -rf "$root"' EXIT

node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { parse, stringify } from "yaml";
  const pod = parse(readFileSync("examples/two-containers.yaml", "utf8"));
  const debian = pod.spec.containers.find((c) => c.name === "debian-container");
  debian.args[1] += "exec sleep 3600\n";
  process.stdout.write(stringify(pod));
' >"$root/two-containers.yaml"
peapod run -d -f "$root/two-containers.yaml"
# Drawn once the page was fetched: the wget is gone, both containers run.
for _ in $(seq 100); do
  if peapod logs two-containers -c debian-container 2>/dev/null | grep -q 'Hello from the debian container'; then
    peapod inspect two-containers -o svg >"$out.tmp"
    mv "$out.tmp" "$out"
    echo "figure: wrote $out"
    exit 0
  fi
  sleep 0.1
done
echo "figure: the pod did not fetch its page in 10 s; peapod describe pod two-containers says:" >&2
peapod describe pod two-containers >&2 || true
exit 1
