#!/usr/bin/env bash
# Compares one benchmark program at two commits, interleaved, so that a regression shows the day
# it lands (a benchmark, not a test: it prints figures and judges nothing).
#
# usage: bench/compare.sh [-n RUNS] [-b BENCH] [-x REGEX] [-a COMMIT_A] COMMIT [-- ARGS...]
#   COMMIT     the reference commit (any name git rev-parse accepts)
#   -a COMMIT  the commit measured against it (default HEAD: the last commit, not the work tree)
#   -b BENCH   the bench program under bench/ (default bench_linker)
#   -n RUNS    counted runs of each side (default 5), after one warm-up run of each
#   -x REGEX   an extended regular expression with one group: the figure taken from each run's
#              output (default for bench_linker: the last e2e line's link CPU seconds)
#   ARGS       the bench's arguments, the same for both sides (default for bench_linker:
#              --persons 10000 --skip-recall); both commits' bench must accept them
# env: CASELINK_COMPARE_DIR  where each commit's tree and build are kept and reused
#                            (default ${TMPDIR:-/tmp}/caselink-compare)
#      COMPARE_BUILD_TYPE    CMake build type of both builds (default RelWithDebInfo)
#
# Each commit is exported with git archive and built (only the bench target) in its own folder.
# Runs alternate A B A B ...; per run it prints the process CPU time (user + sys, from bash's
# time) and the figure; then per side the minimum and median, and the median of the ratios
# A/B of the pairs (robust to the machine's speed drifting during the runs).
set -euo pipefail

runs=5
bench=bench_linker
regex=
a_rev=HEAD
while getopts "n:b:x:a:h" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	b) bench=$OPTARG ;;
	x) regex=$OPTARG ;;
	a) a_rev=$OPTARG ;;
	h)
		sed -n '2,25p' "$0"
		exit 0
		;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ]; then
	echo "compare.sh: missing COMMIT (usage: bench/compare.sh [-n RUNS] [-b BENCH] [-x REGEX] [-a COMMIT_A] COMMIT [-- ARGS...])" >&2
	exit 2
fi
b_rev=$1
shift
if [ "${1:-}" = "--" ]; then
	shift
fi
case $runs in
'' | *[!0-9]*)
	echo "compare.sh: -n wants a number of runs, got '$runs'" >&2
	exit 2
	;;
esac
if [ "$runs" -lt 1 ] || [ "$runs" -gt 100 ]; then
	echo "compare.sh: -n wants 1 to 100 runs, got $runs" >&2
	exit 2
fi
args=("$@")
if [ "$bench" = bench_linker ]; then
	[ ${#args[@]} -gt 0 ] || args=(--persons 10000 --skip-recall)
	[ -n "$regex" ] || regex='s wall ([0-9.]+) s CPU'
fi

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
root=${CASELINK_COMPARE_DIR:-${TMPDIR:-/tmp}/caselink-compare}
btype=${COMPARE_BUILD_TYPE:-RelWithDebInfo}
mkdir -p "$root"

# Builds bench $bench of commit $1 (once per commit and build type); prints the binary's path.
build_at() {
	local sha dir
	sha=$(git -C "$repo" rev-parse --verify "$1^{commit}") || {
		echo "compare.sh: '$1' is no commit of $repo" >&2
		return 1
	}
	dir=$root/$sha-$btype
	if [ ! -x "$dir/build/bin/$bench" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/src"
		git -C "$repo" archive "$sha" | tar -x -C "$dir/src"
		echo "compare.sh: building $bench at ${sha:0:12} in $dir" >&2
		cmake -S "$dir/src" -B "$dir/build" -DCMAKE_BUILD_TYPE="$btype" >"$dir/cmake.log" 2>&1 || {
			echo "compare.sh: cmake failed at ${sha:0:12}, see $dir/cmake.log" >&2
			return 1
		}
		cmake --build "$dir/build" -j2 --target "$bench" >"$dir/build.log" 2>&1 || {
			echo "compare.sh: building $bench failed at ${sha:0:12}, see $dir/build.log" >&2
			return 1
		}
	fi
	echo "$dir/build/bin/$bench"
}

a_bin=$(build_at "$a_rev")
b_bin=$(build_at "$b_rev")
a_name="$a_rev $(git -C "$repo" rev-parse --short "$a_rev")"
b_name="$b_rev $(git -C "$repo" rev-parse --short "$b_rev")"

# Runs binary $1 with the bench arguments; prints "CPU FIGURE" (FIGURE "-" without a regex).
run_one() {
	local out tf cpu fig
	out=$(mktemp)
	tf=$(mktemp)
	if ! { TIMEFORMAT='%3U %3S'; time "$1" "${args[@]}" >"$out" 2>&1; } 2>"$tf"; then
		echo "compare.sh: $1 ${args[*]} failed:" >&2
		tail -5 "$out" >&2
		rm -f "$out" "$tf"
		return 1
	fi
	cpu=$(awk 'END { printf "%.3f", $1 + $2 }' "$tf")
	fig=-
	if [ -n "$regex" ]; then
		fig=$(grep -E -- "$regex" "$out" | tail -1 | sed -E "s/.*$regex.*/\1/")
		[ -n "$fig" ] || fig=-
	fi
	rm -f "$out" "$tf"
	echo "$cpu $fig"
}

echo "compare.sh: $bench ${args[*]}"
echo "  A = $a_name, B = $b_name; $runs runs each, interleaved, after a warm-up; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
cpu_field() { grep -m1 "^$1[[:space:]]*:" /proc/cpuinfo | sed 's/^[^:]*: //'; }
cpu_flag() { grep -m1 '^flags' /proc/cpuinfo | grep -qw "$1" && echo yes || echo no; }
echo "  CPU: $(cpu_field 'model name') (family $(cpu_field 'cpu family') model $(cpu_field model)); avx2 $(cpu_flag avx2), avx512_vpopcntdq $(cpu_flag avx512_vpopcntdq)"
[ -n "$regex" ] && echo "  figure: /$regex/"
run_one "$a_bin" >/dev/null
run_one "$b_bin" >/dev/null
results=$(mktemp)
for i in $(seq 1 "$runs"); do
	read -r ac af <<<"$(run_one "$a_bin")"
	read -r bc bf <<<"$(run_one "$b_bin")"
	echo "$i $ac $af $bc $bf" >>"$results"
	printf '  run %d: A cpu %s s, figure %s | B cpu %s s, figure %s\n' "$i" "$ac" "$af" "$bc" "$bf"
done
awk -v an="$a_name" -v bn="$b_name" '
function med(v, n,   i, j, t) {
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function mn(v, n,   i, m) {
	m = v[1]
	for (i = 2; i <= n; i++)
		if (v[i] < m) m = v[i]
	return m
}
{
	n++; ac[n] = $2; bc[n] = $4; rc[n] = $4 > 0 ? $2 / $4 : 0
	if ($3 != "-" && $5 != "-") { m++; af[m] = $3; bf[m] = $5; rf[m] = $5 > 0 ? $3 / $5 : 0 }
}
END {
	printf "  process CPU s  A (%s): min %.3f median %.3f | B (%s): min %.3f median %.3f | A/B median %.3f\n", an, mn(ac, n), med(ac, n), bn, mn(bc, n), med(bc, n), med(rc, n)
	if (m)
		printf "  figure         A: min %.3f median %.3f | B: min %.3f median %.3f | A/B median %.3f\n", mn(af, m), med(af, m), mn(bf, m), med(bf, m), med(rf, m)
}' "$results"
rm -f "$results"
