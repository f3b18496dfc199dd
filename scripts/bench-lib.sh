# Sourced by the bench scripts (bench.sh, bench-cache.sh, bench-replicas.sh): what each needs
# the same way — packages, the build, corpora, medians, a wrk round — so that a figure in one
# is made like the same figure in another. The edit timings' Python side is bench_edits.py.
#
# Expects ROOT (the checkout); BENCH_DIR (where corpora and outputs go, default target/bench),
# GEN (the shared corpus generator), LINK_FROM and BIG_CORPUS as bench.sh says.

BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
GEN=${GEN:-$ROOT/../shared/corpus/gen_corpus.py}
mkdir -p "$BENCH_DIR"

# Installs, with apt-get, the Debian packages whose command is missing. Each argument is
# COMMAND:PACKAGE, COMMAND a name looked up on PATH or an absolute path.
need_packages() {
  local need=() spec cmd
  for spec in "$@"; do
    cmd=${spec%%:*}
    if [[ $cmd == /* ]]; then [ -x "$cmd" ] && continue; else command -v "$cmd" >/dev/null 2>&1 && continue; fi
    need+=("${spec#*:}")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} (install them, or run as root)" >&2
    exit 1
  fi
}

# Sets BIN to the tidings to measure: $BIN when given (another build, say the previous
# commit's, for a before/after comparison run by run), else this checkout built for release.
build_tidings() {
  if [ -z "${BIN:-}" ]; then
    cargo build --release --locked -q
    BIN=$ROOT/target/release/tidings
  fi
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'; }

# Requests per second wrk gets for $1 with gzip (2 threads, 64 connections, 10 s).
rps() { wrk -t2 -c64 -d10s -H 'Accept-Encoding: gzip' "$1" | awk '/Requests\/sec/ {print $2}'; }

# `rps` for $2 and for $3 in alternating rounds, $RUNS of each, so that both see the same
# machine; prints the two medians. $1 names the files the rounds are kept in.
alternate_rps() {
  local a="$BENCH_DIR/$1-a" b="$BENCH_DIR/$1-b" _
  : >"$a" && : >"$b"
  for _ in $(seq "$RUNS"); do
    rps "$2" >>"$a"
    rps "$3" >>"$b"
  done
  echo "$(median <"$a") $(median <"$b")"
}

# Sets CORPUS to the folder of the $1-post corpus, making it first if needed, and CORPUS_HOW
# to how it was made. Up to 100,000 posts (and any size with BIG_CORPUS=generate) the shared
# generator writes it (40 categories, seed 1), or it is hard-linked from $LINK_FROM/corpus-N
# when that exists; a larger multiple of 100,000 is the 100k corpus hard-linked under part-0,
# part-1, … A corpus is made under a temporary name and renamed when complete.
corpus() {
  local n=$1 dir="$BENCH_DIR/corpus-$1"
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir" "$dir.tmp"
    if [ -n "${LINK_FROM:-}" ] && [ -f "$LINK_FROM/corpus-$n/.complete" ]; then
      echo "   corpus-$n: hard-linking $LINK_FROM/corpus-$n" >&2
      cp -al "$LINK_FROM/corpus-$n" "$dir.tmp"
    elif [ "$n" -gt 100000 ] && [ $((n % 100000)) = 0 ] && [ "${BIG_CORPUS:-links}" = links ]; then
      local parts=$((n / 100000)) base i
      corpus 100000
      base=$CORPUS
      echo "   corpus-$n: the 100k corpus hard-linked under part-0 … part-$((parts - 1))" >&2
      mkdir -p "$dir.tmp"
      for i in $(seq 0 $((parts - 1))); do
        cp -al "$base" "$dir.tmp/part-$i"
        rm -f "$dir.tmp/part-$i/.complete" "$dir.tmp/part-$i/.method"
      done
      echo "the 100,000-post corpus (generator, seed 1, 40 categories) hard-linked $parts times under part-0 … part-$((parts - 1)): distinct paths and ids, content and dates repeated $parts times" >"$dir.tmp/.method"
    else
      echo "   corpus-$n: generating with $GEN (~800 posts/s on one core)" >&2
      python3 "$GEN" --out "$dir.tmp" --posts "$n" --categories 40 --seed 1 --quiet
    fi
    [ -f "$dir.tmp/.method" ] || echo "generated: $(basename "$GEN") --posts $n --categories 40 --seed 1" >"$dir.tmp/.method"
    touch "$dir.tmp/.complete"
    mv "$dir.tmp" "$dir"
  fi
  CORPUS=$dir
  CORPUS_HOW=$(cat "$dir/.method" 2>/dev/null || echo "generated: $(basename "$GEN") --posts $n --categories 40 --seed 1")
}
