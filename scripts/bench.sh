#!/usr/bin/env bash
# Benchmarks tidings at news-site scale and prints every figure of the performance targets,
# with nginx measured in the same run for the serving figures.
#
#   scripts/bench.sh                  # 10k and 100k posts
#   SIZES="10000 100000 1000000" scripts/bench.sh
#   RUNS=5 scripts/bench.sh           # more runs per figure (medians are reported)
#   BIN=/path/to/tidings scripts/bench.sh   # measure another build (a baseline)
#   SERVE_ONLY=1 scripts/bench.sh     # only the serving comparison with nginx
#   SERVE=0 scripts/bench.sh          # no serving comparison
#   SIZES=1000000 RUNS=1 EDITS=5 SERVE=0 TOUCH_TIMEOUT=300 scripts/bench.sh   # a quick million
#   LINK_FROM=/other/checkout/target/bench scripts/bench.sh   # hard-link corpora made there
#
# Needs: python3, curl, wrk, nginx and taskset (wrk and nginx-light are installed with apt-get
# when missing and running as root). Corpora live in $BENCH_DIR (default: target/bench):
# up to 100,000 posts they are generated once with the shared corpus generator (40
# categories, seed 1) or hard-linked from $LINK_FROM/corpus-N when that exists; larger sizes
# that are a multiple of 100,000 are, by default (BIG_CORPUS=links), the 100k corpus
# hard-linked under part-0, part-1, … (distinct paths and ids, repeated content and dates:
# the generator writes ~800 posts/s on one core, over 20 minutes for a million). BIG_CORPUS=
# generate runs the generator for them too. The output says which each size is.
#
# The corpora are never modified in place: the change-latency figure edits one post, and it
# first replaces that post's file with a private copy (same bytes) so that an edit never
# reaches a corpus this one is hard-linked with.
#
# Serving (at SERVE_SIZE, default the largest size up to 100,000 — the size the serving
# targets are stated for): tidings and nginx each run on their own cores (SERVER_CPUS) and
# wrk on the others (CLIENT_CPUS), so the server, not the load generator, is what runs out of
# CPU (PIN=0: everything shares every core, as before). Both are asked the same document with
# the same reader-like request headers, serve the same bytes, are warmed up, and alternate
# round by round (the order flips each round); each figure is the median of RUNS rounds, and
# each round says how much CPU the server, wrk and the rest of the machine used per request.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZES=${SIZES:-"10000 100000"}
RUNS=${RUNS:-3}
EDITS=${EDITS:-20}
LINK_FROM=${LINK_FROM:-}
BIG_CORPUS=${BIG_CORPUS:-links}
PORT=${PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
SERVE_ONLY=${SERVE_ONLY:-0}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
WRK_SECONDS=${WRK_SECONDS:-10}
WARMUP_SECONDS=${WARMUP_SECONDS:-3}
# What a feed reader sends with every poll (Miniflux's User-Agent and Accept); READER=0 sends
# wrk's bare request (Host only), which skips tidings' content negotiation and reader stats.
READER=${READER:-1}

# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
need_packages wrk:wrk /usr/sbin/nginx:nginx-light
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# Which cores the server and the load generator get: halves of the machine (on 2 cores, one
# each). A server sharing its cores with wrk is measured together with wrk, and wrk's own
# cost (the same whichever server it loads) hides most of the difference between servers.
cpu_range() { if [ "$1" = "$2" ]; then echo "$1"; else echo "$1-$2"; fi; }
if [ "${PIN:-1}" = 1 ] && [ "$NCPU" -ge 2 ]; then
  half=$((NCPU / 2))
  SERVER_CPUS=${SERVER_CPUS:-$(cpu_range 0 $((half - 1)))}
  CLIENT_CPUS=${CLIENT_CPUS:-$(cpu_range "$half" $((NCPU - 1)))}
  ON_SERVER=(taskset -c "$SERVER_CPUS")
  ON_CLIENT=(taskset -c "$CLIENT_CPUS")
  SERVER_CORES=$half
else
  SERVER_CPUS=all CLIENT_CPUS=all ON_SERVER=() ON_CLIENT=() SERVER_CORES=$NCPU
fi

echo "== machine: $NCPU cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $(cargo --version); runs per figure: $RUNS (medians); edits per change figure: $EDITS"
build_tidings

PID=
stop_tidings() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi; }
stop_nginx() { if [ -f "$BENCH_DIR/nginx.pid" ]; then kill "$(cat "$BENCH_DIR/nginx.pid")" 2>/dev/null || true; rm -f "$BENCH_DIR/nginx.pid"; fi; }
trap 'stop_tidings; stop_nginx; true' EXIT

# Starts tidings on $1 (with $2 posts: the time allowed grows with it) and sets ELAPSED to
# the seconds until /healthz answers 200. (Not a function to call in $(...): the server
# would inherit the substitution's pipe and the substitution would wait for the server to
# exit.) Runs under "${LAUNCH[@]}" (empty, or a taskset) when set.
start_tidings() {
  local content=$1 posts=$2
  local limit=${START_TIMEOUT:-$((60 + posts / 2000))}
  local t0; t0=$(date +%s.%N)
  # In its own session, as nginx (which daemonizes) and a service manager's unit are: with
  # autogroup scheduling a session shares one CPU weight among its processes, and tidings in
  # the script's session would share its weight with wrk while nginx has one of its own — on a
  # busy machine that alone halved tidings' requests per second.
  TIDINGS_LOG=warn setsid ${LAUNCH[@]+"${LAUNCH[@]}"} "$BIN" serve --config /dev/null --content "$content" \
    --bind "127.0.0.1:$PORT" --base-url "http://127.0.0.1:$PORT/" >/dev/null 2>>"$BENCH_DIR/tidings.log" &
  PID=$!
  if [ "$(readlink "/proc/$PID/exe" 2>/dev/null)" != "$(readlink -f "$BIN")" ]; then
    sleep 0.1  # taskset and setsid exec tidings: the same process once they have
  fi
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" = 200 ]; do
    kill -0 "$PID" 2>/dev/null || { echo "tidings died; see $BENCH_DIR/tidings.log" >&2; exit 1; }
    if [ "$(echo "$(date +%s.%N) - $t0 > $limit" | bc)" = 1 ]; then
      echo "tidings did not answer /healthz 200 within $limit s with $posts posts (START_TIMEOUT=$limit); giving up" >&2
      exit 1
    fi
    sleep 0.02
  done
  ELAPSED=$(echo "$(date +%s.%N) - $t0" | bc)
}

status_mb() { awk -v k="$1:" '$1 == k {printf "%.0f", $2/1024}' "/proc/$PID/status"; }

# Requests every subscription document in every format (brotli and gzip), the first archive
# page of every feed, and walks the site's whole archive chain once in one format, so the peak
# memory covers "every feed servable, archives on demand". One keep-alive connection; stops
# at the deadline (TOUCH_TIMEOUT, default 300 s + 2 s per 1,000 posts) and says so. Prints
# "complete <requests>" or "incomplete <requests>".
touch_everything() {
  python3 - "$PORT" "${TOUCH_TIMEOUT:-$((300 + $1 / 500))}" <<'PY'
import http.client, re, sys, time, urllib.parse
port, limit = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + limit
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
count = 0
class Late(Exception):
    pass
def get(path, **headers):
    global count
    if time.monotonic() > deadline:
        raise Late()
    conn.request("GET", path, headers=headers)
    body = conn.getresponse().read()
    count += 1
    return body
try:
    opml = get("/feeds.opml").decode()
    for url in re.findall(r'xmlUrl="([^"]*)"', opml):
        path = urllib.parse.urlsplit(url).path
        stem = path[: -len(".atom")] if path.endswith(".atom") else path
        for ext in ("atom", "rss", "json"):
            get(f"{stem}.{ext}", **{"Accept-Encoding": "br"})
            get(f"{stem}.{ext}", **{"Accept-Encoding": "gzip"})
        get(f"{stem}/archive/1.atom")
    nxt = "/feed.atom"
    while nxt:
        m = re.search(rb'<link href="([^"]*)" rel="prev-archive"', get(nxt))
        nxt = urllib.parse.urlsplit(m.group(1).decode()).path if m else None
    print("complete", count)
except Late:
    print(f"touching every document stopped at the {limit:.0f} s deadline (TOUCH_TIMEOUT) "
          f"after {count} requests: the peak memory below misses the rest", file=sys.stderr)
    print("incomplete", count)
PY
}

# Edits one post $EDITS times and prints the milliseconds from each write to the new title
# being visible in the site feed and the post's category feed (p50 and p95), or "timeout
# timeout" when an edit is not visible within 10 s.
change_latency() {
  python3 - "$1" "$PORT" "$EDITS" "$BENCH_DIR" "$ROOT/scripts" <<'PY'
import os, re, sys, time, urllib.request
content, port, edits, scratch = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, sys.argv[5])
import bench_edits as be
base = f"http://127.0.0.1:{port}"
# The newest post: it is in the first page of the site feed and of its category feed.
path = be.newest_post(content, base + "/feed.atom")
original = open(path, encoding="utf-8").read()
if be.make_private(path, scratch):
    time.sleep(1)
cat = re.search(r"^categories:\s*\[?\s*-?\s*([^\s,\]]+)", original, re.M)
cat_url = f"{base}/category/{cat.group(1)}.atom" if cat else None
samples = []
try:
    for i in range(edits):
        marker = f"bench-edit-{os.getpid()}-{i}"
        t0 = time.perf_counter()
        be.write(path, be.retitled(original, marker))
        urls = [base + "/feed.atom"] + ([cat_url] if cat_url else [])
        pending = set(urls)
        while pending:
            for u in list(pending):
                if marker in urllib.request.urlopen(u).read().decode():
                    pending.discard(u)
            if time.perf_counter() - t0 > 10:
                print(f"edit {i}: not visible after 10 s", file=sys.stderr)
                print("timeout timeout")
                sys.exit(0)
        samples.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.2)
finally:
    be.write(path, original)
print(f"{be.percentile(samples, 0.5):.1f} {be.percentile(samples, 0.95):.1f}")
PY
}

# CPU clock ticks (user + system, every thread) that processes $@ have used so far.
cpu_ticks() {
  local ticks=0 p
  for p in "$@"; do ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$ticks"
}
# Busy clock ticks of the whole machine (user, nice, system, irq, softirq, steal).
machine_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

declare -A START RSS_LOAD RSS HOW CHANGE50 CHANGE95 COMPLETE
if [ "$SERVE_ONLY" != 1 ]; then
  # The same process with no posts: what does not grow with the site (code, runtime, fixed
  # caches at their empty size), subtracted to give the state bytes per post.
  mkdir -p "$BENCH_DIR/empty"
  start_tidings "$BENCH_DIR/empty" 0
  touch_everything 0 >/dev/null
  RSS0=$(status_mb VmHWM)
  stop_tidings
  echo "== no posts: peak RSS $RSS0 MB (subtracted below for state bytes per post)"
  for n in $SIZES; do
    corpus "$n"
    dir=$CORPUS HOW[$n]=$CORPUS_HOW
    echo "== $n posts: $CORPUS_HOW"
    avail=$(awk '/MemAvailable/ {printf "%.0f", $2/1024}' /proc/meminfo)
    if [ "$avail" -lt $((n / 100)) ]; then
      # Before issue 15: 930 MB at 100,000 posts, 7.3 GB at a million.
      echo "   warning: only $avail MB available, and $n posts have needed up to $((n / 130)) MB" >&2
    fi
    # The files are read once first: a start is measured with the corpus in the page cache,
    # as on a server that has read its content before (the kernel may have dropped it since
    # the corpus was made or last used, and a cold start measures the disk, not tidings).
    find "$dir" -type f -print0 | xargs -0 cat >/dev/null
    # And one start is made and thrown away first, as any benchmark warms up: on this shared
    # VM the first start after another size's run was now and then several times slower
    # than the next ones (100,000 posts: 10.0 s, then 2.3 and 1.6 s) though the files had
    # just been read, which says more about the machine than about tidings.
    start_tidings "$dir" "$n"
    echo "   warm-up start: $(printf '%.2f' "$ELAPSED") s (not counted)"
    stop_tidings
    starts=()
    for r in $(seq "$RUNS"); do
      start_tidings "$dir" "$n"
      starts+=("$ELAPSED")
      if [ "$r" -lt "$RUNS" ]; then stop_tidings; fi
    done
    START[$n]=$(printf '%s\n' "${starts[@]}" | median)
    RSS_LOAD[$n]=$(status_mb VmHWM)
    read -r COMPLETE[$n] _ < <(touch_everything "$n")
    RSS[$n]=$(status_mb VmHWM)
    read -r c50 c95 < <(change_latency "$dir")
    CHANGE50[$n]=$c50 CHANGE95[$n]=$c95
    stop_tidings
    printf '%8s posts: start %.2f s (median of %s: %s), peak RSS %s MB after the load, %s MB after every document%s\n' \
      "$n" "${START[$n]}" "$RUNS" "$(printf '%.2f ' "${starts[@]}" | sed 's/ $//')" "${RSS_LOAD[$n]}" "${RSS[$n]}" \
      "$([ "${COMPLETE[$n]}" = complete ] || echo ' (INCOMPLETE: deadline reached)')"
    printf '%8s        %.0f bytes of peak RSS per post, %.0f state bytes per post (minus the empty process), change p50 %s ms, p95 %s ms\n' \
      "" "$(echo "${RSS[$n]} * 1048576 / $n" | bc -l)" "$(echo "(${RSS[$n]} - $RSS0) * 1048576 / $n" | bc -l)" "$c50" "$c95"
  done

  echo "== growth"
  prev=
  for n in $SIZES; do
    if [ -n "$prev" ]; then
      ratio() { if [ "$2" = timeout ] || [ "$1" = timeout ]; then echo nan; else echo "$1 / $2" | bc -l; fi; }
      printf '%s → %s posts (×%s): start ×%.2f, peak memory ×%.2f, state bytes per post ×%.2f, change p95 ×%.2f\n' \
        "$prev" "$n" "$(echo "$n / $prev" | bc)" "$(ratio "${START[$n]}" "${START[$prev]}")" \
        "$(ratio "${RSS[$n]}" "${RSS[$prev]}")" \
        "$(echo "(${RSS[$n]} - $RSS0) * $prev / ((${RSS[$prev]} - $RSS0) * $n)" | bc -l)" \
        "$(ratio "${CHANGE95[$n]}" "${CHANGE95[$prev]}")"
    fi
    prev=$n
  done
fi

if [ "${SERVE:-1}" = 0 ]; then exit 0; fi

# Serving: one category subscription document, tidings vs nginx with the same bytes.
SERVE_SIZE=${SERVE_SIZE:-$(for n in $SIZES; do echo "$n"; done | sort -n | awk '$1 <= 100000 {m = $1} NR == 1 {f = $1} END {print (m ? m : f)}')}
corpus "$SERVE_SIZE"
dir=$CORPUS
LAUNCH=(${ON_SERVER[@]+"${ON_SERVER[@]}"})
start_tidings "$dir" "$SERVE_SIZE"
LAUNCH=()
DOC=/category/shanxiwanbao.atom
WWW=$BENCH_DIR/www
rm -rf "$WWW" && mkdir -p "$WWW/category"
curl -s "http://127.0.0.1:$PORT$DOC" -o "$WWW$DOC"
# nginx serves tidings' own gzip bytes, so both send the same body; `gzip -9` is shown for
# comparison (nginx's usual gzip_static set-up).
curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT$DOC" -o "$WWW$DOC.gz"
GZIP9=$(gzip -9 -n -c "$WWW$DOC" | wc -c)
cat >"$BENCH_DIR/nginx.conf" <<CONF
worker_processes $SERVER_CORES;
pid $BENCH_DIR/nginx.pid;
error_log $BENCH_DIR/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { application/atom+xml atom; }
  charset utf-8;
  charset_types application/atom+xml;
  etag on;
  gzip_static on;
  gzip_vary on;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WWW;
  }
}
CONF
stop_nginx
${ON_SERVER[@]+"${ON_SERVER[@]}"} "$NGINX" -c "$BENCH_DIR/nginx.conf"
until curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT$DOC"; do sleep 0.05; done
NGINX_PIDS="$(cat "$BENCH_DIR/nginx.pid") $(pgrep -P "$(cat "$BENCH_DIR/nginx.pid")" | tr '\n' ' ')"

if [ "$READER" = 1 ]; then
  REQ=("User-Agent: Mozilla/5.0 (compatible; Miniflux/2.0.51; +https://miniflux.app)"
    "Accept: application/atom+xml, application/rss+xml;q=0.9, application/xml;q=0.8, */*;q=0.7")
else
  REQ=()
fi
etag_of() { curl -s -o /dev/null -D - "${@:2}" "$1" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r'; }
hdr_args() { local h; for h in "$@"; do printf -- '-H\0%s\0' "$h"; done; }
mapfile -d '' CURL_REQ < <(hdr_args ${REQ[@]+"${REQ[@]}"})
ETAG=$(etag_of "http://127.0.0.1:$PORT$DOC" ${CURL_REQ[@]+"${CURL_REQ[@]}"} -H 'Accept-Encoding: gzip')
NGINX_ETAG=$(etag_of "http://127.0.0.1:$NGINX_PORT$DOC" ${CURL_REQ[@]+"${CURL_REQ[@]}"} -H 'Accept-Encoding: gzip')

# The request headers of a case, one per line.
case_headers() {
  if [ ${#REQ[@]} -gt 0 ]; then printf '%s\n' "${REQ[@]}"; fi
  case $1 in
    identity) ;;
    gzip) echo "Accept-Encoding: gzip" ;;
    304) echo "Accept-Encoding: gzip"; echo "If-None-Match: $2" ;;
  esac
}

# What each server answers each case: status, header bytes, body bytes (and the bodies must
# be the same bytes).
echo "== serving $DOC at $SERVE_SIZE posts: $(stat -c %s "$WWW$DOC") bytes, gzip $(stat -c %s "$WWW$DOC.gz") (gzip -9 would give $GZIP9)"
echo "   server on CPUs $SERVER_CPUS (nginx worker_processes $SERVER_CORES), wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d${WRK_SECONDS}s on CPUs $CLIENT_CPUS;"
echo "   request headers: $([ "$READER" = 1 ] && echo "a feed reader's User-Agent and Accept" || echo "Host only"), plus Accept-Encoding: gzip (gzip, 304) and If-None-Match (304)"
for case in identity gzip 304; do
  for server in tidings nginx; do
    if [ $server = tidings ]; then port=$PORT tag=$ETAG; else port=$NGINX_PORT tag=$NGINX_ETAG; fi
    mapfile -t hs < <(case_headers "$case" "$tag")
    mapfile -d '' args < <(hdr_args "${hs[@]}")
    rm -f "$BENCH_DIR/body-$server" && touch "$BENCH_DIR/body-$server"  # curl writes no file for a 304
    curl -s -o "$BENCH_DIR/body-$server" -D "$BENCH_DIR/head-$server" "${args[@]}" "http://127.0.0.1:$port$DOC"
    printf '   %-8s %-7s %s, %4d header bytes, %6d body bytes\n' "$case" "$server" \
      "$(head -1 "$BENCH_DIR/head-$server" | tr -d '\r' | cut -d' ' -f2-)" \
      "$(stat -c %s "$BENCH_DIR/head-$server")" "$(stat -c %s "$BENCH_DIR/body-$server")"
  done
  cmp -s "$BENCH_DIR/body-tidings" "$BENCH_DIR/body-nginx" || { echo "   the two servers' $case bodies differ" >&2; exit 1; }
done

# One wrk run against one server: prints requests/s, then CPU microseconds per request of the
# server, of wrk and of everything else on the machine (other processes, interrupts).
measure() { # "pids", url, seconds, header...
  local pids=$1 url=$2 secs=$3; shift 3
  local args=() h s0 s1 m0 m1 cpu
  for h in "$@"; do args+=(-H "$h"); done
  # shellcheck disable=SC2086
  s0=$(cpu_ticks $pids); m0=$(machine_ticks)
  cpu=$( { TIMEFORMAT='%U %S'; time ${ON_CLIENT[@]+"${ON_CLIENT[@]}"} wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" \
    -d"${secs}s" "${args[@]}" "$url" >"$BENCH_DIR/wrk.out"; } 2>&1 )
  # shellcheck disable=SC2086
  s1=$(cpu_ticks $pids); m1=$(machine_ticks)
  if grep -qE 'Non-2xx|Socket errors' "$BENCH_DIR/wrk.out"; then
    echo "   wrk $url: $(grep -E 'Non-2xx|Socket errors' "$BENCH_DIR/wrk.out" | tr -s ' ' | tr '\n' ' ')" >&2
  fi
  awk -v server="$(((s1 - s0)))" -v machine="$((m1 - m0))" -v tck="$CLK_TCK" -v wrk="$cpu" '
    /requests in/ {n = $1} /Requests\/sec/ {r = $2}
    END {split(wrk, w, " "); c = (w[1] + w[2]) * tck;
         printf "%s %.2f %.2f %.2f\n", r, server / tck * 1e6 / n, c / tck * 1e6 / n, (machine - server - c) / tck * 1e6 / n}' \
    "$BENCH_DIR/wrk.out"
}

# Waits (up to a minute) until tidings is idle — the rescan that follows its start is done —
# so that no background work is billed to the requests measured.
settle() {
  local deadline=$((SECONDS + 60)) a b
  while [ "$SECONDS" -lt "$deadline" ]; do
    a=$(cpu_ticks "$PID"); sleep 0.5; b=$(cpu_ticks "$PID")
    if [ $((b - a)) -lt 2 ]; then return; fi
  done
  echo "   tidings still busy after a minute; measuring anyway" >&2
}

settle
echo "   load average before the rounds: $(cut -d' ' -f1-3 /proc/loadavg) (figures taken on a busy machine are not final)"
echo "   medians of $RUNS rounds, servers alternating (order flipped each round) after ${WARMUP_SECONDS}s warm-ups;"
echo "   CPU = µs per request: the server (all threads; nginx master + workers), wrk, and the rest of the machine"
printf '%-9s %10s %10s %6s | %8s %8s %6s | %8s %8s | %8s %8s\n' case tidings nginx ratio "cpu tid" "cpu ngx" ratio "wrk tid" "wrk ngx" "rest tid" "rest ngx"
for case in identity gzip 304; do
  mapfile -t th < <(case_headers "$case" "$ETAG")
  mapfile -t nh < <(case_headers "$case" "$NGINX_ETAG")
  run_t() { measure "$PID" "http://127.0.0.1:$PORT$DOC" "$1" "${th[@]}"; }
  run_n() { measure "$NGINX_PIDS" "http://127.0.0.1:$NGINX_PORT$DOC" "$1" "${nh[@]}"; }
  if [ "$WARMUP_SECONDS" -gt 0 ]; then run_t "$WARMUP_SECONDS" >/dev/null; run_n "$WARMUP_SECONDS" >/dev/null; fi
  : >"$BENCH_DIR/serve-t" && : >"$BENCH_DIR/serve-n"
  for r in $(seq "$RUNS"); do
    if [ $((r % 2)) = 1 ]; then
      run_t "$WRK_SECONDS" >>"$BENCH_DIR/serve-t"; run_n "$WRK_SECONDS" >>"$BENCH_DIR/serve-n"
    else
      run_n "$WRK_SECONDS" >>"$BENCH_DIR/serve-n"; run_t "$WRK_SECONDS" >>"$BENCH_DIR/serve-t"
    fi
  done
  col() { awk -v c="$1" '{print $c}' "$2" | median; }
  t=$(col 1 "$BENCH_DIR/serve-t") g=$(col 1 "$BENCH_DIR/serve-n")
  tc=$(col 2 "$BENCH_DIR/serve-t") gc=$(col 2 "$BENCH_DIR/serve-n")
  printf '%-9s %10.0f %10.0f %6.2f | %8.1f %8.1f %6.2f | %8.1f %8.1f | %8.1f %8.1f\n' "$case" "$t" "$g" \
    "$(echo "$t / $g" | bc -l)" "$tc" "$gc" "$(echo "$gc / $tc" | bc -l)" \
    "$(col 3 "$BENCH_DIR/serve-t")" "$(col 3 "$BENCH_DIR/serve-n")" "$(col 4 "$BENCH_DIR/serve-t")" "$(col 4 "$BENCH_DIR/serve-n")"
  sed 's/^/     rounds tidings: /' "$BENCH_DIR/serve-t" | tr '\n' ';' | sed 's/;$/\n/'
  sed 's/^/     rounds nginx:   /' "$BENCH_DIR/serve-n" | tr '\n' ';' | sed 's/;$/\n/'
done
echo "   (ratio: req/s tidings ÷ nginx; cpu ratio: nginx µs ÷ tidings µs, above 1 when tidings spends less per request)"
stop_nginx
stop_tidings
