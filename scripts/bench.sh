#!/usr/bin/env bash
# Benchmarks tidings at news-site scale and prints every figure of the performance targets,
# with nginx measured in the same run for the serving figures.
#
#   scripts/bench.sh                  # 10k and 100k posts
#   SIZES="10000 100000 1000000" scripts/bench.sh
#   RUNS=5 scripts/bench.sh           # more runs per figure (medians are reported)
#   BIN=/path/to/tidings scripts/bench.sh   # measure another build (a baseline)
#
# Needs: python3, curl, wrk and nginx (installed with apt-get when missing and running as
# root). Corpora are generated once into $BENCH_DIR (default: target/bench) with the shared
# corpus generator, 40 categories, seed 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZES=${SIZES:-"10000 100000"}
RUNS=${RUNS:-3}
EDITS=${EDITS:-20}
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
GEN=${GEN:-$ROOT/../shared/corpus/gen_corpus.py}
PORT=${PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
mkdir -p "$BENCH_DIR"

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} (install them, or run as root)" >&2; exit 1
  fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "== $(cargo --version); runs per figure: $RUNS (medians); edits per change figure: $EDITS"
# BIN=path/to/tidings measures another build (say, the previous commit's, for a before/after
# comparison run by run); by default this checkout is built and measured.
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q
  BIN=$ROOT/target/release/tidings
fi

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'; }

corpus() {
  local n=$1 dir="$BENCH_DIR/corpus-$1"
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir"
    python3 "$GEN" --out "$dir" --posts "$n" --categories 40 --seed 1 --quiet
    touch "$dir/.complete"
  fi
  echo "$dir"
}

PID=
stop_tidings() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi; }
trap 'stop_tidings; [ -f "$BENCH_DIR/nginx.pid" ] && kill "$(cat "$BENCH_DIR/nginx.pid")" 2>/dev/null; true' EXIT

# Starts tidings on $1 and sets ELAPSED to the seconds until /healthz answers 200. (Not a
# function to call in $(...): the server would inherit the substitution's pipe and the
# substitution would wait for the server to exit.)
start_tidings() {
  local content=$1
  local t0; t0=$(date +%s.%N)
  TIDINGS_LOG=warn "$BIN" serve --config /dev/null --content "$content" \
    --bind "127.0.0.1:$PORT" --base-url "http://127.0.0.1:$PORT/" >/dev/null 2>>"$BENCH_DIR/tidings.log" &
  PID=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" = 200 ]; do
    kill -0 "$PID" 2>/dev/null || { echo "tidings died; see $BENCH_DIR/tidings.log" >&2; exit 1; }
    sleep 0.02
  done
  ELAPSED=$(echo "$(date +%s.%N) - $t0" | bc)
}

peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$PID/status"; }

# Requests every subscription document in every format, and the first and last archive page of
# every feed, so the peak memory covers "every feed servable, archives on demand".
touch_everything() {
  local base="http://127.0.0.1:$PORT"
  curl -s "$base/feeds.opml" | grep -o 'xmlUrl="[^"]*"' | sed 's/xmlUrl="//; s/"$//' | while read -r url; do
    for ext in atom rss json; do
      curl -s -o /dev/null -H 'Accept-Encoding: br' "${url%.atom}.$ext"
      curl -s -o /dev/null -H 'Accept-Encoding: gzip' "${url%.atom}.$ext"
    done
    curl -s -o /dev/null "${url%.atom}/archive/1.atom"
  done
  # Walk the whole site archive chain once in one format.
  local next="$base/feed.atom"
  while [ -n "$next" ]; do
    next=$(curl -s "$next" | grep -o '<link href="[^"]*" rel="prev-archive"' | sed 's/<link href="//; s/" rel.*//' || true)
  done
}

# Edits one post $EDITS times and prints the milliseconds from each write to the new title
# being visible in the site feed and the post's category feed (p50 and p95).
change_latency() {
  python3 - "$1" "$PORT" "$EDITS" <<'PY'
import os, sys, time, urllib.request, re, glob
content, port, edits = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = f"http://127.0.0.1:{port}"
# The newest post: it is in the first page of the site feed and of its category feed.
feed = urllib.request.urlopen(base + "/feed.atom").read().decode()
first_id = re.search(r"<entry><title>.*?</title><id>tag:[^:]+:([^<]+)</id>", feed).group(1)
path = os.path.join(content, urllib.request.unquote(first_id))
original = open(path, encoding="utf-8").read()
cat = re.search(r"^categories:\s*\[?\s*-?\s*([^\s,\]]+)", original, re.M)
cat_url = f"{base}/category/{cat.group(1)}.atom" if cat else None
samples = []
try:
    for i in range(edits):
        marker = f"bench-edit-{os.getpid()}-{i}"
        text = re.sub(r"^title:.*$", f"title: \"{marker}\"", original, count=1, flags=re.M)
        t0 = time.perf_counter()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        urls = [base + "/feed.atom"] + ([cat_url] if cat_url else [])
        pending = set(urls)
        while pending:
            for u in list(pending):
                if marker in urllib.request.urlopen(u).read().decode():
                    pending.discard(u)
            if time.perf_counter() - t0 > 10:
                raise SystemExit("change not visible after 10 s")
        samples.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.2)
finally:
    with open(path, "w", encoding="utf-8") as f:
        f.write(original)
samples.sort()
p = lambda q: samples[min(len(samples) - 1, int(round(q * (len(samples) - 1))))]
print(f"{p(0.5):.1f} {p(0.95):.1f}")
PY
}

declare -A START RSS CHANGE50 CHANGE95
for n in $SIZES; do
  dir=$(corpus "$n")
  starts=()
  for r in $(seq "$RUNS"); do
    start_tidings "$dir"
    starts+=("$ELAPSED")
    if [ "$r" -lt "$RUNS" ]; then stop_tidings; fi
  done
  START[$n]=$(printf '%s\n' "${starts[@]}" | median)
  touch_everything
  RSS[$n]=$(peak_rss_mb)
  read -r c50 c95 < <(change_latency "$dir")
  CHANGE50[$n]=$c50; CHANGE95[$n]=$c95
  stop_tidings
  printf '%8s posts: start %.2f s (median of %s), peak RSS %s MB, change p50 %s ms, p95 %s ms\n' \
    "$n" "${START[$n]}" "$RUNS" "${RSS[$n]}" "$c50" "$c95"
done

# Serving: one category subscription document, tidings vs nginx with the same bytes.
# At the largest size: the figure the targets are stated for.
n=$(echo "$SIZES" | awk '{print $NF}')
dir=$(corpus "$n")
start_tidings "$dir"
DOC=/category/shanxiwanbao.atom
WWW=$BENCH_DIR/www
rm -rf "$WWW" && mkdir -p "$WWW/category"
curl -s "http://127.0.0.1:$PORT$DOC" -o "$WWW$DOC"
curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT$DOC" -o "$WWW$DOC.gz"
ETAG=$(curl -s -o /dev/null -D - "http://127.0.0.1:$PORT$DOC" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')
NGINX_ETAG=$(printf '"%x-%x"' "$(stat -c %Y "$WWW$DOC")" "$(stat -c %s "$WWW$DOC")")
cat >"$BENCH_DIR/nginx.conf" <<CONF
worker_processes 2;
pid $BENCH_DIR/nginx.pid;
error_log $BENCH_DIR/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  types { application/atom+xml atom; }
  gzip_static on;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WWW;
  }
}
CONF
"$NGINX" -c "$BENCH_DIR/nginx.conf"
until curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT$DOC"; do sleep 0.05; done

# CPU seconds (user + system, every thread) that processes $@ have used so far.
cpu_seconds() {
  local ticks=0
  for p in "$@"; do ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$ticks / $(getconf CLK_TCK)" | bc -l
}

# One wrk run: prints requests/s and the server's CPU microseconds per request. The second
# figure is steadier than the first on a shared machine, and says where a gap comes from.
measure() { # "pids", url, header...
  local pids=$1 url=$2; shift 2
  local args=() c0 c1 out
  for h in "$@"; do args+=(-H "$h"); done
  # shellcheck disable=SC2086
  c0=$(cpu_seconds $pids)
  out=$(wrk -t2 -c64 -d10s "${args[@]}" "$url")
  # shellcheck disable=SC2086
  c1=$(cpu_seconds $pids)
  echo "$out" | awk -v cpu="$(echo "$c1 - $c0" | bc -l)" \
    '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {printf "%s %.1f\n", r, cpu * 1e6 / n}'
}

# Waits (up to a minute) until tidings is idle — the rescan that follows its start is done —
# so that no background work is billed to the requests measured.
settle() {
  local deadline=$((SECONDS + 60)) a b
  while [ "$SECONDS" -lt "$deadline" ]; do
    a=$(cpu_seconds "$PID"); sleep 0.5; b=$(cpu_seconds "$PID")
    if [ "$(echo "$b - $a < 0.02" | bc)" = 1 ]; then return; fi
  done
}

NGINX_PIDS=$(pgrep -P "$(cat "$BENCH_DIR/nginx.pid")" | tr '\n' ' ')
settle
echo "== serving $DOC ($(stat -c %s "$WWW$DOC") bytes, gzip $(stat -c %s "$WWW$DOC.gz")), wrk -t2 -c64 -d10s,"
echo "   tidings and nginx alternating, median of $RUNS; CPU = server µs per request"
printf '%-10s %12s %12s %8s %12s %12s\n' case tidings nginx ratio "CPU tidings" "CPU nginx"
for case in identity gzip 304; do
  case $case in
    identity) th=(); nh=() ;;
    gzip) th=("Accept-Encoding: gzip"); nh=("Accept-Encoding: gzip") ;;
    304) th=("If-None-Match: $ETAG"); nh=("If-None-Match: $NGINX_ETAG") ;;
  esac
  : >"$BENCH_DIR/serve-t" && : >"$BENCH_DIR/serve-n"
  for _ in $(seq "$RUNS"); do
    measure "$PID" "http://127.0.0.1:$PORT$DOC" "${th[@]}" >>"$BENCH_DIR/serve-t"
    measure "$NGINX_PIDS" "http://127.0.0.1:$NGINX_PORT$DOC" "${nh[@]}" >>"$BENCH_DIR/serve-n"
  done
  t=$(awk '{print $1}' "$BENCH_DIR/serve-t" | median); g=$(awk '{print $1}' "$BENCH_DIR/serve-n" | median)
  tc=$(awk '{print $2}' "$BENCH_DIR/serve-t" | median); gc=$(awk '{print $2}' "$BENCH_DIR/serve-n" | median)
  printf '%-10s %12.0f %12.0f %8.2f %12.1f %12.1f\n' "$case" "$t" "$g" "$(echo "$t / $g" | bc -l)" "$tc" "$gc"
done
kill "$(cat "$BENCH_DIR/nginx.pid")" 2>/dev/null || true
stop_tidings

echo "== growth"
prev=
for n in $SIZES; do
  if [ -n "$prev" ]; then
    printf '%s → %s posts (×%s): start ×%.2f, memory ×%.2f, change p95 ×%.2f\n' "$prev" "$n" \
      "$(echo "$n / $prev" | bc)" "$(echo "${START[$n]} / ${START[$prev]}" | bc -l)" \
      "$(echo "${RSS[$n]} / ${RSS[$prev]}" | bc -l)" "$(echo "${CHANGE95[$n]} / ${CHANGE95[$prev]}" | bc -l)"
  fi
  prev=$n
done
