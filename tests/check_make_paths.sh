#!/usr/bin/env bash
# `make configure` (the first half of `make build`) with MANIFEST and BUILD paths that hold
# spaces: the manifest must reach the configure step whole. Arguments: MAKE SOURCE_DIR WORK_DIR
set -uo pipefail
make=$1 src=$2 work=$3
die() { echo "FAIL: $*"; exit 1; }
# Without the toolchain in .venv the Makefile would install it first; not a test's job.
compgen -G "$src/.venv/.poolgen-deps-*" >/dev/null ||
    { echo "[SKIP] no .venv toolchain in $src (run make there first)"; exit 0; }
rm -rf "$work" && mkdir -p "$work/a dir" || die "cannot make $work"
cat >"$work/a dir/good m.json" <<'JSON'
{"version": 1, "kernels": [{"name": "fine", "op": "global_avg_pool", "input": [1, 4, 3, 3]}]}
JSON
cat >"$work/a dir/bad m.json" <<'JSON'
{"version": 1, "kernels": [
  {"name": "too_much_padding", "op": "max_pool", "input": [1, 1, 8, 8], "kernel": 2, "padding": 2}]}
JSON
unset MAKEFLAGS MFLAGS
out=$("$make" -C "$src" --no-print-directory configure MANIFEST="$work/a dir/good m.json" BUILD="$work/build dir/good" 2>&1) ||
    { echo "$out" | tail -n 12; die "configure failed on a valid manifest whose path holds spaces"; }
grep -q "^POOLGEN_MANIFEST:.*=$work/a dir/good m.json\$" "$work/build dir/good/CMakeCache.txt" ||
    die "POOLGEN_MANIFEST in the cache is not '$work/a dir/good m.json'"
[ -f "$work/build dir/good.configure.log" ] || die "no configure log beside the build directory"
out=$("$make" -C "$src" --no-print-directory configure MANIFEST="$work/a dir/bad m.json" BUILD="$work/build dir/bad" 2>&1)
rc=$?
[ $rc -ne 0 ] || die "configure accepted a bad manifest"
grep -q "kernel 'too_much_padding' (kernels\[0\]): field 'padding'" <<<"$out" ||
    { echo "$out" | tail -n 12; die "the configure error does not come from the manifest"; }
echo "ok: MANIFEST and BUILD paths with spaces reach the configure step whole"
