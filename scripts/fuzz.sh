#!/bin/sh
# Build and run pyro's libFuzzer targets (fuzz/fuzz_*.c), each over its
# parsers of hostile bytes, with ASan and UBSan.  First every kept crash
# input (fuzz/regress/NAME/) is replayed and must pass; then each target
# fuzzes for SECONDS from its seed corpus (fuzz/corpus/NAME/).
#
#	scripts/fuzz.sh [-t SECONDS] [-b BUILDDIR] [NAME...]
#
# BUILDDIR is a configured build directory (for config.h); the fuzzers go
# to BUILDDIR/fuzz/.  Without clang's libFuzzer the run is skipped with a
# notice (exit 0).  A crash leaves its input in BUILDDIR/fuzz/NAME-crashes/
# and fails the run: copy it into fuzz/regress/NAME/ with the fix.
set -eu
secs=30
build=build-ci
while getopts t:b: o; do
	case $o in
	t) secs=$OPTARG ;;
	b) build=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-b BUILDDIR] [NAME...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
build=$(cd "$build" 2>/dev/null && pwd) || { echo "[fuzz] no build dir" >&2; exit 1; }
cd "$(dirname "$0")/.."
top=$(pwd)
targets=${*:-"frame msg guestproto unpack disk dns gsdiff conf mcp fchttp oci"}

if ! command -v clang >/dev/null ||
    ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
    clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
	echo "[fuzz] SKIPPED: clang with libFuzzer is not installed" \
	    "(apt-get install clang libclang-rt-14-dev)"
	exit 0
fi
[ -f "$build/config.h" ] || { echo "[fuzz] $build is not a configured build dir" >&2; exit 1; }
out="$build/fuzz"
mkdir -p "$out"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
 -I$build -I$top/common -I$top/include -I$top/libpyro -I$top/diskhelper
 -I$top/supervisor -I$top/mcp -I$top/vmhelper -DPYRO_LIBEXECDIR=\"/nonexistent\""

# NAME: sources and pkg-config modules.
srcs() {
	case $1 in
	frame) echo "common/frame.c" ;;
	msg) echo "common/msg.c" ;;
	guestproto) echo "common/guestproto.c" ;;
	unpack) echo "libpyro/transfer.c libpyro/client.c common/frame.c common/path.c common/msg.c" ;;
	disk) echo "diskhelper/ext4.c diskhelper/fdio.c diskhelper/scrub.c common/errcode.c common/redact.c common/utf8.c" ;;
	dns) echo "common/netrule.c" ;;
	fchttp) echo "vmhelper/fcapi.c" ;;
	oci) echo "common/oci.c" ;;
	gsdiff) echo "supervisor/guestsh.c" ;;
	conf) echo "supervisor/config.c common/log.c common/netrule.c" ;;
	mcp) echo "mcp/server.c mcp/tools.c libpyro/client.c libpyro/env.c libpyro/ops.c libpyro/transfer.c libpyro/wsops.c common/frame.c common/path.c common/msg.c common/errcode.c common/escape.c common/utf8.c common/url.c common/catalog.c common/procs.c" ;;
	*) echo "unknown fuzz target $1" >&2; exit 2 ;;
	esac
}
pkgs() {
	case $1 in
	frame|msg|guestproto) echo "libcjson" ;;
	unpack) echo "libcjson libarchive nettle" ;;
	disk) echo "ext2fs com_err libcjson" ;;
	dns|gsdiff|conf|fchttp|oci) echo "libcjson" ;;
	mcp) echo "libcjson libarchive nettle" ;;
	esac
}

total=0
for t in $targets; do
	# shellcheck disable=SC2046
	clang $cflags -o "$out/fuzz_$t" "fuzz/fuzz_$t.c" $(srcs "$t" | sed "s|[^ ]*|$top/&|g") \
	    $(pkg-config --cflags --libs $(pkgs "$t")) -lpthread -lm
	if [ -d "fuzz/regress/$t" ] && [ -n "$(ls "fuzz/regress/$t")" ]; then
		"$out/fuzz_$t" -runs=0 "fuzz/regress/$t"/* >"$out/$t-regress.log" 2>&1 ||
		    { tail -n 40 "$out/$t-regress.log"; echo "[fuzz] $t: a kept crash input fails again" >&2; exit 1; }
	fi
	work="$out/$t-corpus"
	rm -rf "$work" "$out/$t-crashes"
	mkdir -p "$work" "$out/$t-crashes"
	[ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$work/"
	if ! "$out/fuzz_$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
	    -artifact_prefix="$out/$t-crashes/" -print_final_stats=1 "$work" \
	    >"$out/$t.log" 2>&1; then
		tail -n 40 "$out/$t.log"
		echo "[fuzz] $t: CRASH, input in $out/$t-crashes/" >&2
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
	echo "[fuzz] $t: ${runs:-?} runs in ${secs} s, no crash"
	total=$((total + 1))
done
echo "[fuzz] $total targets clean"
