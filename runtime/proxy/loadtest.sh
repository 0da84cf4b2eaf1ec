#!/usr/bin/env bash
# Load test of `wasmctl proxy` with wrk (or hey): the same upstream reached
# directly, through httputil.ReverseProxy, and through the proxy with 0, 1
# and 5 addheader filters (one proxy process, three listeners). Prints
# requests/s and the kept ratios. Usage, from the repository root:
#
#   runtime/proxy/loadtest.sh [duration=10s] [connections=32]
#
# Needs wrk (preferred) or hey on PATH. Everything binds 127.0.0.1:1908x.
set -euo pipefail
dur=${1:-10s}
conns=${2:-32}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/wasmctl" ./cmd/wasmctl
go build -o "$work/benchtool" ./runtime/proxy/internal/benchtool
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags="-s -w" \
  -o "$work/addheader.wasm" ./runtime/proxy/testdata/addheader

filters() {
  echo "  filters:"
  for i in $(seq 1 "$1"); do
    echo "  - {name: f$i, url: \"file://$work/addheader.wasm\", pluginConfig: \"x-f$i: $i\"}"
  done
}
{
  echo "cache: {dir: $work/cache}"
  echo "listeners:"
  echo "- {name: bare, address: 127.0.0.1:19081, routes: [{cluster: up}]}"
  echo "- name: one"; echo "  address: 127.0.0.1:19082"; echo "  routes: [{cluster: up}]"; filters 1
  echo "- name: five"; echo "  address: 127.0.0.1:19083"; echo "  routes: [{cluster: up}]"; filters 5
  echo "clusters: [{name: up, endpoints: [127.0.0.1:19080]}]"
} > "$work/runtime.yaml"

"$work/benchtool" upstream 127.0.0.1:19080 & pids+=($!)
"$work/benchtool" reverseproxy 127.0.0.1:19084 http://127.0.0.1:19080 & pids+=($!)
"$work/wasmctl" proxy --config "$work/runtime.yaml" --log-level warn & pids+=($!)
for _ in $(seq 1 300); do
  curl -fs -o /dev/null http://127.0.0.1:19083/ && break
  sleep 0.1
done

rps() {
  if command -v wrk >/dev/null; then
    wrk -t2 -c"$conns" -d"$dur" "$1" | awk '/Requests\/sec/ {print $2}'
  else
    hey -z "$dur" -c "$conns" "$1" | awk '/Requests\/sec/ {print $2}'
  fi
}
declare -A r
for name in direct:19080 reverseproxy:19084 bare:19081 filters=1:19082 filters=5:19083; do
  r[${name%%:*}]=$(rps "http://127.0.0.1:${name##*:}/")
  printf '%-14s %10s req/s\n' "${name%%:*}" "${r[${name%%:*}]}"
done
awk -v rp="${r[reverseproxy]}" -v b="${r[bare]}" -v f1="${r[filters=1]}" -v f5="${r[filters=5]}" 'BEGIN {
  printf "bare/reverseproxy   %.3f\nfilters=1/bare      %.3f\nfilters=5/bare      %.3f\n", b/rp, f1/b, f5/b }'
