#!/bin/sh
# The seed corpus of fuzz/fuzz_disk.c: small ext4 images (1 KiB blocks, 64
# inodes, 256 KiB, no journal) holding what ext4.c has paths for: inline
# data, fast, slow and inline symlinks, extents and block maps, an htree
# directory, a deep tree, runtime files for the scrub.  Also the regression
# image of the inline-symlink overflow (fuzz/regress/disk).  Needs mke2fs,
# debugfs and e2fsck 1.47; run from anywhere, writes into the tree.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/fuzz/corpus/disk
reg=$top/fuzz/regress/disk
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$reg"
# Fixed UUIDs, hash seeds and times: the same script makes the same bytes.
export E2FSPROGS_FAKE_TIME=1700000000
fixed="-E hash_seed=6f1d6a2e-0000-4000-8000-000000000001 \
    -U 6f1d6a2e-0000-4000-8000-000000000002"

# The tree: what check_disk.c's images hold, at a tenth of the size.
tree() {
	r=$1
	mkdir -p "$r/workspace/sub/deep" "$r/etc" "$r/run/pyro" "$r/var/tmp" \
	    "$r/var/lock" "$r/root"
	printf 'hello\n' >"$r/workspace/small.txt"
	printf 'inline\n' >"$r/workspace/inline.txt"
	head -c 20000 /dev/zero | tr '\0' 'b' >"$r/workspace/big.bin"
	printf 'bottom\n' >"$r/workspace/sub/deep/f"
	ln -s small.txt "$r/workspace/fast-link"
	ln -s "$(printf '%0100d' 0)" "$r/workspace/slow-link"
	ln -s /etc/hostname "$r/workspace/abs-link"
	ln -s loop-b "$r/workspace/loop-a"
	ln -s loop-a "$r/workspace/loop-b"
	ln -s sub "$r/workspace/link"
	printf 'seed\n' >"$r/etc/hostname"
	printf '1\n' >"$r/run/pyro/agent.pid"
	ln -s /run "$r/var/run"
	mkdir "$r/var/tmp/pyro-scratch"
	printf 'ls\n' >"$r/root/.bash_history"
}

# mkimg NAME MKFS-OPTIONS [DEBUGFS-COMMANDS]: a 256 KiB image of $work/root.
mkimg() {
	img=$work/$1.img
	rm -f "$img"
	truncate -s 256K "$img"
	# shellcheck disable=SC2086
	mkfs.ext4 -q -F -b 1024 -N 64 -O ^has_journal $fixed $2 \
	    -d "$work/root" "$img"
	if [ -n "${3:-}" ]; then
		printf '%s\n' "$3" | debugfs -w -f - "$img" >/dev/null 2>&1
	fi
	e2fsck -fn "$img" >/dev/null 2>&1 || [ -n "${3:-}" ] ||
	    { echo "$1: e2fsck finds errors" >&2; exit 1; }
}

tree "$work/root"
mkimg plain ""
cp "$work/plain.img" "$out/plain.img"
mkimg blockmap "-O ^extents,^metadata_csum,^64bit"
cp "$work/blockmap.img" "$out/blockmap.img"
mkimg inline "-O inline_data -I 256"
cp "$work/inline.img" "$out/inline.img"

# An htree directory: 24 names long enough to fill three blocks, indexed by
# e2fsck -D (mke2fs -d writes linear directories).
rm -rf "$work/root" && tree "$work/root"
mkdir "$work/root/workspace/many"
for i in $(seq 1 24); do
	: >"$work/root/workspace/many/$(printf 'entry-%02d-%0080d' "$i" 0)"
done
mkimg htree ""
e2fsck -fyD "$work/htree.img" >/dev/null 2>&1 || true
e2fsck -fn "$work/htree.img" >/dev/null 2>&1
cp "$work/htree.img" "$out/htree.img"

# A deep tree: 30 levels (the 64 inodes allow no more).
rm -rf "$work/root" && mkdir -p "$work/root/workspace"
d=$work/root/workspace/sub
for i in $(seq 1 30); do d=$d/d; done
mkdir -p "$d" && printf 'bottom\n' >"$d/f"
mkimg deep ""
cp "$work/deep.img" "$out/deep.img"

# The overflow this corpus was started for: an inline-data symlink whose
# i_size (0) understates its 700 inline bytes (libext2fs's namei copied
# them into a buffer sized by i_size).
rm -rf "$work/root" && tree "$work/root"
t=$(printf '%0700d' 0)
mkimg inline-symlink-size0 "-O inline_data -I 1024" \
    "symlink /workspace/evil $t
set_inode_field /workspace/evil size 0
symlink /workspace/link2 $t
set_inode_field /workspace/link2 size 2000"
cp "$work/inline-symlink-size0.img" "$reg/inline-symlink-size0.img"
cp "$work/inline-symlink-size0.img" "$out/inline-symlink-size0.img"

ls -l "$out" "$reg"
