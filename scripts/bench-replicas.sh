#!/usr/bin/env bash
# Replicas behind a load balancer: three `tidings serve` processes on one content directory
# (two watching it natively, one polling it as on NFS, at the default 1 s interval) behind
# nginx round-robin. Prints requests per second for a category feed through nginx against one
# replica alone (same run, alternating, medians), and how long an edit takes to be served by
# every replica (p50/p95 over the edits, native replicas and the polling one apart).
# Correctness (identical bytes, ETags and dates; date-only clients) is tested in
# tests/it/replicas.rs; this measures.
#
#   scripts/bench-replicas.sh                 # the 10k-post corpus
#   SIZE=100000 RUNS=5 EDITS=20 scripts/bench-replicas.sh
#
# Needs wrk, nginx, curl, python3 (apt-get installs what is missing when run as root) and the
# shared corpus generator (as scripts/bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE=${SIZE:-10000}
RUNS=${RUNS:-3}
EDITS=${EDITS:-20}
FRONT=${FRONT:-18190}
PORTS=(18191 18192 18193)
WATCH=(native native poll)

# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
need_packages wrk:wrk /usr/sbin/nginx:nginx-light
build_tidings
corpus "$SIZE"
dir=$CORPUS

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; true' EXIT
for i in 0 1 2; do
  # One base URL for all: documents name where readers reach them (nginx), so every replica
  # writes the same bytes.
  TIDINGS_LOG=warn TIDINGS_WATCH=${WATCH[$i]} "$BIN" serve --config /dev/null --content "$dir" \
    --bind "127.0.0.1:${PORTS[$i]}" --base-url "http://127.0.0.1:$FRONT/" \
    >/dev/null 2>>"$BENCH_DIR/replicas-$i.log" &
  pids+=($!)
done
ndir="$BENCH_DIR/nginx-replicas"
rm -rf "$ndir" && mkdir -p "$ndir"
cat >"$ndir/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $ndir/nginx.pid;
error_log $ndir/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  proxy_temp_path $ndir/temp;
  client_body_temp_path $ndir/body;
  fastcgi_temp_path $ndir/fastcgi;
  uwsgi_temp_path $ndir/uwsgi;
  scgi_temp_path $ndir/scgi;
  upstream tidings {
    server 127.0.0.1:${PORTS[0]};
    server 127.0.0.1:${PORTS[1]};
    server 127.0.0.1:${PORTS[2]};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:$FRONT;
    location / {
      proxy_pass http://tidings;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_next_upstream error timeout http_503;
    }
  }
}
CONF
/usr/sbin/nginx -c "$ndir/nginx.conf" &
pids+=($!)
for p in "${PORTS[@]}"; do
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/healthz")" = 200 ]; do sleep 0.05; done
done
until curl -s -o /dev/null "http://127.0.0.1:$FRONT/healthz"; do sleep 0.05; done

DOC=/category/shanxiwanbao.atom
read -r one lb < <(alternate_rps replicas "http://127.0.0.1:${PORTS[0]}$DOC" "http://127.0.0.1:$FRONT$DOC")

# Every replica must serve the edit: the time until the last one does, per kind of watcher.
read -r n50 n95 p50 p95 < <(python3 - "$ROOT/scripts" "$BENCH_DIR" "$dir" "$EDITS" "${PORTS[@]}" <<'PY'
import os, sys, time, urllib.request
sys.path.insert(0, sys.argv[1])
import bench_edits as be
scratch, content, edits, ports = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
bases = [f"http://127.0.0.1:{p}" for p in ports]
path = be.newest_post(content, bases[0] + "/feed.atom")
if be.make_private(path, scratch):
    time.sleep(2)  # the polling replica notices the new inode within its 1 s interval
original = open(path, encoding="utf-8").read()
native, polled = [], []
try:
    for i in range(edits):
        marker = f"replica-edit-{os.getpid()}-{i}"
        t0 = time.perf_counter()
        be.write(path, be.retitled(original, marker))
        seen = {}
        while len(seen) < len(bases):
            for b in bases:
                if b not in seen and marker in urllib.request.urlopen(b + "/feed.atom").read().decode():
                    seen[b] = (time.perf_counter() - t0) * 1000
            if time.perf_counter() - t0 > 15:
                raise SystemExit("edit not served by every replica after 15 s")
        native.append(max(seen[b] for b in bases[:2]))
        polled.append(seen[bases[2]])
        time.sleep(0.3)
finally:
    be.write(path, original)
q = be.percentile
print(f"{q(native, .5):.1f} {q(native, .95):.1f} {q(polled, .5):.1f} {q(polled, .95):.1f}")
PY
)

echo "== $SIZE posts, 3 replicas (native, native, poll 1 s) behind nginx round-robin, $(nproc) cores"
echo "== $DOC gzip, wrk -t2 -c64 -d10s, median of $RUNS, alternating"
printf 'one replica alone        %10.0f req/s\nthrough nginx, 3 replicas %9.0f req/s  (%.2fx)\n' "$one" "$lb" "$(echo "$lb / $one" | bc -l)"
echo "== an edit served by every replica, $EDITS edits (ms from the write)"
printf 'native replicas   p50 %7s   p95 %7s\npolling replica   p50 %7s   p95 %7s\n' "$n50" "$n95" "$p50" "$p95"
