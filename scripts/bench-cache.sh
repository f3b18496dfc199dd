#!/usr/bin/env bash
# Serving through a shared cache: requests per second for a category feed through Varnish
# against tidings alone (same run, alternating, medians), and how soon an edit shows through
# Varnish when tidings purges it (max-age 300, so only the purge can explain it; p50/p95 over
# the edits, from the write to Varnish serving the new title). That an edit shows within
# max-age without purging is tested in tests/it/caches.rs, purging in tests/it/purge.rs.
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
EDITS=${EDITS:-20}
PORT=${PORT:-18090}
VARNISH_PORT=${VARNISH_PORT:-18091}

# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
need_packages wrk:wrk /usr/sbin/varnishd:varnish
build_tidings
corpus "$SIZE"
dir=$CORPUS

# The corpus is shared: edits go to a private copy of the one post edited (see below), so
# tidings is pointed at a hard-linked tree. Its base URL is the cache's address, as in
# production (readers reach it through the cache): purges name that host, which is part of
# Varnish's cache key.
work="$BENCH_DIR/cache-corpus"
rm -rf "$work" && cp -al "$dir" "$work"
TIDINGS_LOG=warn TIDINGS_MAX_AGE=300 TIDINGS_PURGE_ENDPOINTS="PURGE http://127.0.0.1:$VARNISH_PORT" \
  "$BIN" serve --config /dev/null --content "$work" --bind "127.0.0.1:$PORT" \
  --base-url "http://127.0.0.1:$VARNISH_PORT/" >/dev/null 2>>"$BENCH_DIR/cache-tidings.log" &
TPID=$!
vdir="$BENCH_DIR/varnish"
rm -rf "$vdir" && mkdir -p "$vdir" && chmod 777 "$vdir"
cat >"$vdir/tidings.vcl" <<VCL
vcl 4.1;
backend tidings { .host = "127.0.0.1"; .port = "$PORT"; }
acl purgers { "127.0.0.1"; "::1"; }
sub vcl_recv {
  if (req.method == "PURGE") {
    if (client.ip !~ purgers) { return (synth(405, "Not allowed")); }
    return (purge);
  }
}
sub vcl_backend_response { set beresp.keep = 1m; }
VCL
/usr/sbin/varnishd -F -n "$vdir/work" -a "127.0.0.1:$VARNISH_PORT" -f "$vdir/tidings.vcl" \
  -s malloc,256m >/dev/null 2>&1 &
VPID=$!
trap 'kill $TPID $VPID 2>/dev/null; wait 2>/dev/null; true' EXIT
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" = 200 ]; do sleep 0.05; done
until curl -s -o /dev/null "http://127.0.0.1:$VARNISH_PORT/healthz"; do sleep 0.05; done

DOC=/category/shanxiwanbao.atom
read -r t v < <(alternate_rps cache "http://127.0.0.1:$PORT$DOC" "http://127.0.0.1:$VARNISH_PORT$DOC")
echo "== $SIZE posts, $DOC gzip, wrk -t2 -c64 -d10s, median of $RUNS, alternating"
printf 'tidings alone      %10.0f req/s\nthrough Varnish    %10.0f req/s  (%.2fx)\n' "$t" "$v" "$(echo "$v / $t" | bc -l)"

# Purge: edit the newest post of the category (a private copy of its hard link first, so the
# shared corpus is never written), and time until Varnish serves the new title.
read -r p50 p95 < <(python3 - "$work" "$EDITS" "$PORT" "$VARNISH_PORT" "$DOC" "$BENCH_DIR" "$ROOT/scripts" <<'PY'
import os, sys, time, urllib.request
content, edits, port, vport, doc, scratch = sys.argv[1], int(sys.argv[2]), *sys.argv[3:7]
sys.path.insert(0, sys.argv[7])
import bench_edits as be
path = be.newest_post(content, f"http://127.0.0.1:{port}{doc}")
if be.make_private(path, scratch):
    time.sleep(1)
original = open(path, encoding="utf-8").read()
through = f"http://127.0.0.1:{vport}{doc}"
samples = []
try:
    for i in range(edits):
        urllib.request.urlopen(through).read()  # cached in Varnish before the edit
        marker = f"purge-edit-{os.getpid()}-{i}"
        t0 = time.perf_counter()
        be.write(path, be.retitled(original, marker))
        while marker not in urllib.request.urlopen(through).read().decode():
            if time.perf_counter() - t0 > 15:
                raise SystemExit("edit not visible through Varnish after 15 s")
        samples.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.3)
finally:
    be.write(path, original)
print(f"{be.percentile(samples, 0.5):.1f} {be.percentile(samples, 0.95):.1f}")
PY
)
echo "== an edit through Varnish with purge (max-age 300), $EDITS edits, ms from the write"
printf 'visible through Varnish   p50 %7s   p95 %7s\n' "$p50" "$p95"
