#!/usr/bin/env bash
# make interop: the download path against Azurite, Microsoft's Azure Storage
# emulator (pinned in package.json), on loopback and in memory. Blobs and
# their SAS URLs are made by the Azure SDK (setup.mjs); the Go tests of this
# directory (build tag interop) download them. Azurite is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
work=$(mktemp -d)
azurite_pid=
cleanup() {
	if [ -n "$azurite_pid" ]; then kill "$azurite_pid" 2>/dev/null || true; wait "$azurite_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
./node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence --skipApiVersionCheck \
	--disableTelemetry --silent > "$work/azurite.log" 2>&1 &
azurite_pid=$!
for _ in $(seq 1 600); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	if ! kill -0 "$azurite_pid" 2>/dev/null; then cat "$work/azurite.log" >&2; echo "interop: Azurite did not start" >&2; exit 1; fi
	sleep 0.1
done
AZURITE_PORT=$port node interop/setup.mjs > "$work/blobs.json"
ITWIN_INTEROP_BLOBS="$work/blobs.json" $GO test -race -count=1 -tags interop ./interop/ "$@"
