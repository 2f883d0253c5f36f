#!/usr/bin/env bash
# Runs every scenario of conformance/scenarios against the Go client and the
# TypeScript binding, and prints one line: "go: N/N, typescript: N/N".
# Exits non-zero when a scenario fails, a runner skips one, the binding's
# generated types are stale, or the binding does not type-check.
# Called by `make conformance` from the repository root (npm packages
# installed by `npm ci`).
set -u

GO=${GO:-go}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
total=$(find conformance/scenarios -maxdepth 1 -name '*.json' | wc -l)
status=0

# The binding's generated types must match openapi.yaml.
types=bindings/typescript/src/export-api.d.ts
if ! npx --no-install openapi-typescript openapi.yaml --output "$tmp/export-api.d.ts" >"$tmp/gen.log" 2>&1; then
	cat "$tmp/gen.log" >&2
	status=1
elif ! cmp -s "$types" "$tmp/export-api.d.ts"; then
	echo "conformance: $types is stale; run 'make generate-ts'" >&2
	diff -u "$types" "$tmp/export-api.d.ts" | head -20 >&2
	status=1
fi
if ! npx --no-install tsc -p bindings/typescript/tsconfig.json >&2; then
	echo "conformance: the TypeScript binding does not type-check" >&2
	status=1
fi

# The Go client (package wrapper) through conformance/conformance_test.go.
$GO test -race -count=1 -v -run '^TestGoClient$' ./conformance/ >"$tmp/go.txt" 2>&1 || status=1
go_pass=$(grep -c '^    --- PASS: TestGoClient/' "$tmp/go.txt")
grep -E '^\s+--- FAIL|^\s+conformance_test|^FAIL|panic' "$tmp/go.txt" >&2

# The TypeScript binding against the fake-server binary, on a free port.
if $GO build -o "$tmp/itwin-export" ./cmd/itwin-export; then
	FAKE_SERVER="$tmp/itwin-export" node --import tsx --test --test-reporter=tap \
		bindings/typescript/test/conformance.test.ts >"$tmp/ts.txt" 2>&1 || status=1
	FAKE_SERVER="$tmp/itwin-export" node --import tsx --test --test-reporter=tap \
		bindings/typescript/test/broken.test.ts >"$tmp/broken.txt" 2>&1 ||
		{ status=1; cat "$tmp/broken.txt" >&2; }
else
	status=1
	: >"$tmp/ts.txt"
fi
ts_pass=$(grep -cE '^ok [0-9]+ - ' "$tmp/ts.txt")
grep -E -A 30 '^not ok' "$tmp/ts.txt" >&2

echo "go: $go_pass/$total, typescript: $ts_pass/$total"
if [ "$go_pass" -ne "$total" ] || [ "$ts_pass" -ne "$total" ]; then
	status=1
fi
exit $status
