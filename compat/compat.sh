#!/usr/bin/env bash
# Compares the contract and the Go API of the packages wrapper and api with
# the released baselines in this directory.
#
#   compat/compat.sh check      fail on a breaking change, naming it
#   compat/compat.sh baseline   replace the baselines with the tree as it is
#
# Deliberate changes of the Go API: an incompatible change apidiff reports
# for wrapper or api is accepted when CHANGELOG.md's Unreleased section
# (`## [Unreleased]` or `## Unreleased`, up to the next `## ` heading)
# quotes it in backquotes on one line, package first and in apidiff's own
# words, e.g.
#
#   - `api.ExportRun.State: changed from *ExecutionState to ExecutionState`
#
# The check prints each accepted change; any change not listed still fails,
# named. The contract (oasdiff) has no such list: a breaking change of
# openapi.yaml always fails.
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

# The incompatible changes accepted without a CHANGELOG.md entry: a method
# added to the generated client interfaces, which gain one per new
# operation. They are for calling, not implementing (api/doc.go), so adding
# a method breaks no caller.
ALLOWED='^(ClientInterface|ClientWithResponsesInterface)\.[A-Za-z0-9_]+: added$'

# apidiff writes the package's export data; -trimpath keeps the file
# positions inside it relative, so the baselines are the same on every machine.
apidiff() { GOFLAGS="$($GO env GOFLAGS) -trimpath" $GO run "$APIDIFF" "$@"; }
oasdiff() { $GO run "$OASDIFF" "$@"; }

# listed prints the backquoted spans of CHANGELOG.md's Unreleased section,
# one a line: the incompatible Go API changes made on purpose.
listed() {
	[ -f CHANGELOG.md ] || return 0
	awk '/^## /{ on = ($0 ~ /^## \[?Unreleased\]?[[:space:]]*$/); next } on' CHANGELOG.md |
		{ grep -o '`[^`]*`' || true; } | tr -d '`'
}

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
	listed > "$tmp/listed"

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
		sed "s|^|$p.|" "$tmp/$p.rejected" > "$tmp/$p.named"
		grep -xF -f "$tmp/listed" "$tmp/$p.named" > "$tmp/$p.accepted" || true
		grep -vxF -f "$tmp/listed" "$tmp/$p.named" > "$tmp/$p.unlisted" || true
		if [ -s "$tmp/$p.accepted" ]; then
			echo "compat: incompatible changes to package $p accepted, listed in CHANGELOG.md (Unreleased):"
			sed 's/^/  accepted: /' "$tmp/$p.accepted"
		fi
		if [ -s "$tmp/$p.unlisted" ]; then
			echo "compat: FAIL: incompatible changes to package $p since $base, not listed in CHANGELOG.md (Unreleased):" >&2
			sed 's/^/  /' "$tmp/$p.unlisted" >&2
			failed=1
		fi
	done

	if [ "$failed" -ne 0 ]; then
		echo "compat: breaking changes found; see README.md, Compatibility" >&2
		return 1
	fi
	if cat "$tmp"/*.accepted 2>/dev/null | grep -q .; then
		echo "compat: no breaking change since $base beyond those listed in CHANGELOG.md"
	else
		echo "compat: no breaking change since $base"
	fi
}

case "${1:-}" in
check) check ;;
baseline) baseline ;;
*) echo "usage: compat/compat.sh check|baseline" >&2; exit 2 ;;
esac
