#!/usr/bin/env bash
# Proves that `make compat` (compat/compat.sh check) tells an additive change
# from a breaking one. Each case edits a copy of the tree (copied like
# `make check-generated` does), regenerates it and runs the check against
# baselines cut from the unedited copy, so the cases hold whatever the
# current API and the committed baselines are.
#
#   additive             a new operation, a new field and a new enum value: passes
#   enum value removed   IFC2x3 removed from ifc-version: fails, naming it (oasdiff and apidiff)
#   name unexported      wrapper.SafeFileName made unexported: fails, naming it (apidiff)
#   listed change        api.TaskError.Category made a value, the change listed
#                        under Unreleased in CHANGELOG.md: passes, naming it accepted
#   unlisted change      the same listed change and wrapper.SafeFileName made
#                        unexported, not listed: fails, naming only the unlisted one
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
start=$SECONDS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

copy() { # copy SRC DST: the tree without .git and node_modules
	mkdir -p "$2"
	(cd "$1" && tar --exclude=./node_modules --exclude=./.git -cf - .) | tar -C "$2" -xf -
}

# The baselines every case is compared with: the unedited tree.
copy . "$tmp/base"
(cd "$tmp/base" && GO=$GO bash compat/compat.sh baseline) > "$tmp/baseline.log" 2>&1 ||
	{ cat "$tmp/baseline.log" >&2; echo "compat-selftest: cutting baselines failed" >&2; exit 1; }

additive() {
	# A new operation: GET /connections/{connectionId}/labels.
	sed -i '/^paths:$/r /dev/stdin' openapi.yaml <<'YAML'
  /connections/{connectionId}/labels:
    get:
      operationId: getExportConnectionLabels
      summary: Get the labels of an export connection
      description: The labels of the connection.
      tags:
        - Export
      parameters:
        - name: connectionId
          in: path
          required: true
          description: Id of the export connection.
          schema:
            type: string
      responses:
        '200':
          description: The labels.
          content:
            application/json:
              schema:
                type: object
                properties:
                  labels:
                    type: array
                    items:
                      type: string
YAML
	# A new optional field of the run's output options.
	sed -i '/^    export-run-output-options:$/,/^      properties:$/{/^      properties:$/r /dev/stdin
}' openapi.yaml <<'YAML'
        notificationUrl:
          type: string
          description: A URL told when the run completes.
YAML
	# A new enum value of ifc-version.
	sed -i 's/^        - IFC4 RV 1.2$/&\n        - IFC4 RV 1.2 DTV/' openapi.yaml
	grep -q 'getExportConnectionLabels' openapi.yaml && grep -q 'notificationUrl' openapi.yaml &&
		grep -q 'IFC4 RV 1.2 DTV' openapi.yaml
}

enum_removed() {
	sed -i '/^    ifc-version:$/,/^    [a-z]/{/^        - IFC2x3$/d}' openapi.yaml
	! sed -n '/^    ifc-version:$/,/^    [a-z-]*:$/p' openapi.yaml | grep -q '^        - IFC2x3$'
}

name_unexported() {
	grep -rlw SafeFileName --include='*.go' . | xargs sed -i 's/\bSafeFileName\b/safeFileName/g'
	$GO build ./wrapper/ ./cmd/...
}

# list_change TEXT: TEXT quoted in CHANGELOG.md's Unreleased section, made
# first when there is none.
list_change() {
	if ! grep -Eq '^## \[?Unreleased\]?[[:space:]]*$' CHANGELOG.md; then
		sed -i '0,/^## \[/s//## [Unreleased]\n\n&/' CHANGELOG.md
	fi
	sed -i -E "0,/^## \[?Unreleased\]?[[:space:]]*\$/s//&\n\n- \`$1\`/" CHANGELOG.md
	grep -qF -- "- \`$1\`" CHANGELOG.md
}

listed_change() {
	# A deliberate change of the Go API, the contract untouched: the task
	# error's category read as a value.
	cat >> gen/overlay.yaml <<'YAML'
  - target: $.components.schemas.task-error.properties.category
    update:
      x-go-type-skip-optional-pointer: true
YAML
	list_change 'api.TaskError.Category: changed from *string to string'
}

unlisted_change() {
	listed_change && name_unexported
}

failures=0
# scenario NAME EDIT REGENERATE WANT_EXIT MUST_NAME... (!TEXT: must not name TEXT)
scenario() {
	local name=$1 edit=$2 regen=$3 want=$4 dir="$tmp/case-$1" got=0
	shift 4
	copy "$tmp/base" "$dir"
	if ! (cd "$dir" && $edit) > "$tmp/$name.edit" 2>&1; then
		cat "$tmp/$name.edit" >&2
		echo "compat-selftest: FAIL: $name: the edit did not apply" >&2
		failures=$((failures + 1))
		return
	fi
	if [ "$regen" = yes ] && ! (cd "$dir" && make -s generate GO="$GO") > "$tmp/$name.gen" 2>&1; then
		cat "$tmp/$name.gen" >&2
		echo "compat-selftest: FAIL: $name: make generate failed" >&2
		failures=$((failures + 1))
		return
	fi
	(cd "$dir" && GO=$GO bash compat/compat.sh check) > "$tmp/$name.out" 2>&1 || got=$?
	local ok=yes
	if { [ "$want" = 0 ] && [ "$got" -ne 0 ]; } || { [ "$want" != 0 ] && [ "$got" -eq 0 ]; }; then
		ok=no
	fi
	for s in "$@"; do
		case $s in
		!*) ! grep -qF -- "${s#!}" "$tmp/$name.out" || { ok=no; echo "compat-selftest: $name: output names \"${s#!}\"" >&2; } ;;
		*) grep -qF -- "$s" "$tmp/$name.out" || { ok=no; echo "compat-selftest: $name: output lacks \"$s\"" >&2; } ;;
		esac
	done
	if [ $ok = yes ]; then
		echo "compat-selftest: ok: $name (make compat exit $got)"
	else
		sed 's/^/    /' "$tmp/$name.out" >&2
		echo "compat-selftest: FAIL: $name: make compat exit $got (want $([ "$want" = 0 ] && echo 0 || echo non-zero)) or a change not named" >&2
		failures=$((failures + 1))
	fi
}

scenario additive additive yes 0 "no breaking change" "ClientInterface.GetExportConnectionLabels: added"
scenario enum-value-removed enum_removed yes 1 'removed the enum value `IFC2x3`' "openapi.yaml breaks the contract" "api.IFCVersionIFC2X3: removed"
scenario name-unexported name_unexported no 1 "incompatible changes to package wrapper" "wrapper.SafeFileName: removed"
scenario listed-change listed_change yes 0 "beyond those listed in CHANGELOG.md" "accepted: api.TaskError.Category: changed from *string to string"
scenario unlisted-change unlisted_change yes 1 "accepted: api.TaskError.Category: changed from *string to string" \
	"incompatible changes to package wrapper since" "  wrapper.SafeFileName: removed" "!incompatible changes to package api since"

echo "compat-selftest: $((5 - failures))/5 cases as expected in $((SECONDS - start))s"
[ "$failures" -eq 0 ]
