#!/usr/bin/env bash
# Compares the contract and the Go API of the packages wrapper and api with
# the released baselines in this directory.
#
#   compat/compat.sh check      fail on a breaking change, naming it
#   compat/compat.sh baseline   replace the baselines with the tree as it is
#
# The tools are pinned here and run by `go run MODULE@VERSION`, so go.mod
# stays free of them and a fresh clone needs nothing installed.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
OASDIFF=github.com/oasdiff/oasdiff@v1.39.0
APIDIFF=golang.org/x/exp/cmd/apidiff@v0.0.0-20261113113407-e3970619a1a4
MODULE=$($GO list -m)
PACKAGES=(wrapper api)
SPEC=openapi.yaml

# The only incompatible changes accepted: a method added to the generated
# client interfaces, which gain one per new operation. They are for calling,
# not implementing (api/doc.go), so adding a method breaks no caller.
ALLOWED='^(ClientInterface|ClientWithResponsesInterface)\.[A-Za-z0-9_]+: added$'

# apidiff writes the package's export data; -trimpath keeps the file
# positions inside it relative, so the baselines are the same on every machine.
apidiff() { GOFLAGS="$($GO env GOFLAGS) -trimpath" $GO run "$APIDIFF" "$@"; }
oasdiff() { $GO run "$OASDIFF" "$@"; }

baseline() {
	cp "$SPEC" compat/openapi.yaml
	for p in "${PACKAGES[@]}"; do
		apidiff -w "compat/$p.apidiff" "$MODULE/$p"
	done
	sed -n 's/^const Version = "\(.*\)"$/\1/p' wrapper/version.go > compat/VERSION
	echo "compat: baselines written for $(cat compat/VERSION) (compat/openapi.yaml, ${PACKAGES[*]/%/.apidiff})"
}

check() {
	local tmp failed=0 base
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	base=$(cat compat/VERSION)

	echo "compat: $SPEC against the contract of $base (oasdiff)"
	if ! oasdiff breaking compat/openapi.yaml "$SPEC" --fail-on ERR --flatten-allof --color never; then
		echo "compat: FAIL: $SPEC breaks the contract of $base (the ERR changes above)" >&2
		failed=1
	fi

	for p in "${PACKAGES[@]}"; do
		echo "compat: package $p against $base (apidiff)"
		if ! apidiff -w "$tmp/$p.apidiff" "$MODULE/$p"; then
			echo "compat: FAIL: package $p does not build (above)" >&2
			failed=1
			continue
		fi
		apidiff "compat/$p.apidiff" "$tmp/$p.apidiff" | sed 's/^/  /'
		apidiff -incompatible "compat/$p.apidiff" "$tmp/$p.apidiff" | sed 's/^- //' > "$tmp/$p.incompatible"
		if [ "$p" = api ]; then
			grep -Ev "$ALLOWED" "$tmp/$p.incompatible" > "$tmp/$p.rejected" || true
		else
			cp "$tmp/$p.incompatible" "$tmp/$p.rejected"
		fi
		if [ -s "$tmp/$p.rejected" ]; then
			echo "compat: FAIL: incompatible changes to package $p since $base:" >&2
			sed "s|^|  $p.|" "$tmp/$p.rejected" >&2
			failed=1
		fi
	done

	if [ "$failed" -ne 0 ]; then
		echo "compat: breaking changes found; see README.md, Compatibility" >&2
		return 1
	fi
	echo "compat: no breaking change since $base"
}

case "${1:-}" in
check) check ;;
baseline) baseline ;;
*) echo "usage: compat/compat.sh check|baseline" >&2; exit 2 ;;
esac
