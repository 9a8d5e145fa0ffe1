#!/usr/bin/env bash
# fuzz.sh [FUZZTIME]: run every `func FuzzXxx` target of the repository, one
# at a time, for FUZZTIME each (default 60s), and print the executions per
# target. Exit 1 when any target fails: Go then writes the crashing input to
# <package>/testdata/fuzz/<FuzzXxx>/, and that file must be committed so the
# crash stays a regression test that `go test` replays.
set -uo pipefail

fuzztime="${1:-${FUZZTIME:-60s}}"
[[ "$fuzztime" =~ ^[0-9]+$ ]] && fuzztime="${fuzztime}s" # plain seconds
cd "$(dirname "$0")/.."
GO="${GO:-go}"
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

# Targets as "package-dir FuzzName", found in *_test.go files.
mapfile -t targets < <(
	grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_][A-Za-z0-9_]*\(' . |
		grep -v '/vendor/' | sort |
		while read -r f; do
			sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$f" |
				while read -r name; do echo "$(dirname "$f") $name"; done
		done
)
if [ "${#targets[@]}" -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

echo "fuzzing ${#targets[@]} targets for $fuzztime each"
failed=0
summary=()
for t in "${targets[@]}"; do
	read -r dir name <<<"$t"
	corpus="$dir/testdata/fuzz/$name"
	before="$(ls "$corpus" 2>/dev/null | sort)"
	log="$log_dir/$name.log"
	echo "== $dir $name"
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5x "$dir" >"$log" 2>&1
	rc=$?
	# The last progress line: "fuzz: elapsed: 1m0s, execs: 123456 (2057/sec), new interesting: ..."
	execs="$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{print $2}')"
	execs="${execs:-0}"
	after="$(ls "$corpus" 2>/dev/null | sort)"
	new="$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^$' || true)"
	status=ok
	if [ $rc -ne 0 ]; then
		status=FAIL
		failed=1
		tail -40 "$log"
		if [ -n "$new" ]; then
			echo "crasher(s) written; commit them as regression inputs:"
			for f in $new; do echo "  $corpus/$f"; done
		fi
	fi
	summary+=("$(printf '%-6s %-28s %-22s %12s' "$status" "$dir" "$name" "$execs")")
done

echo
printf '%-6s %-28s %-22s %12s\n' STATUS PACKAGE TARGET EXECS
printf '%s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then
	echo "fuzz.sh: a target failed (see above); its input is in testdata/fuzz/ and must be committed" >&2
	exit 1
fi
