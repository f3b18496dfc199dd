#!/usr/bin/env bash
# Serving through a shared cache: requests per second for a category feed through Varnish
# against tidings alone (same run, alternating, medians). (How soon an edit shows through a
# cache is tested in tests/it/caches.rs: within max-age, plus the cache's grace.)
#
#   scripts/bench-cache.sh            # the 10k-post corpus
#   SIZE=100000 RUNS=5 scripts/bench-cache.sh
#
# Needs wrk, varnish, curl, python3 (apt-get installs what is missing when run as root) and
# the shared corpus generator (as scripts/bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE=${SIZE:-10000}
RUNS=${RUNS:-3}
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
GEN=${GEN:-$ROOT/../shared/corpus/gen_corpus.py}
PORT=${PORT:-18090}
VARNISH_PORT=${VARNISH_PORT:-18091}
mkdir -p "$BENCH_DIR"

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -x /usr/sbin/varnishd ] || need+=(varnish)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --locked -q
BIN=$ROOT/target/release/tidings

dir="$BENCH_DIR/corpus-$SIZE"
if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir"
  python3 "$GEN" --out "$dir" --posts "$SIZE" --categories 40 --seed 1 --quiet
  touch "$dir/.complete"
fi
work=$dir

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'; }

TIDINGS_LOG=warn "$BIN" serve --config /dev/null --content "$work" --bind "127.0.0.1:$PORT" \
  --base-url "http://127.0.0.1:$PORT/" >/dev/null 2>>"$BENCH_DIR/cache-tidings.log" &
TPID=$!
vdir="$BENCH_DIR/varnish"
rm -rf "$vdir" && mkdir -p "$vdir" && chmod 777 "$vdir"
cat >"$vdir/tidings.vcl" <<VCL
vcl 4.1;
backend tidings { .host = "127.0.0.1"; .port = "$PORT"; }
sub vcl_backend_response { set beresp.keep = 1m; }
VCL
/usr/sbin/varnishd -F -n "$vdir/work" -a "127.0.0.1:$VARNISH_PORT" -f "$vdir/tidings.vcl" \
  -s malloc,256m >/dev/null 2>&1 &
VPID=$!
trap 'kill $TPID $VPID 2>/dev/null; wait 2>/dev/null; true' EXIT
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" = 200 ]; do sleep 0.05; done
until curl -s -o /dev/null "http://127.0.0.1:$VARNISH_PORT/healthz"; do sleep 0.05; done

DOC=/category/shanxiwanbao.atom
rps() { wrk -t2 -c64 -d10s -H 'Accept-Encoding: gzip' "$1" | awk '/Requests\/sec/ {print $2}'; }
: >"$BENCH_DIR/cache-t" && : >"$BENCH_DIR/cache-v"
for _ in $(seq "$RUNS"); do
  rps "http://127.0.0.1:$PORT$DOC" >>"$BENCH_DIR/cache-t"
  rps "http://127.0.0.1:$VARNISH_PORT$DOC" >>"$BENCH_DIR/cache-v"
done
t=$(median <"$BENCH_DIR/cache-t"); v=$(median <"$BENCH_DIR/cache-v")
echo "== $SIZE posts, $DOC gzip, wrk -t2 -c64 -d10s, median of $RUNS, alternating"
printf 'tidings alone      %10.0f req/s\nthrough Varnish    %10.0f req/s  (%.2fx)\n' "$t" "$v" "$(echo "$v / $t" | bc -l)"
