# itwin-export: build, generate, test.
#
#   make generate         regenerate the Go code from openapi.yaml
#   make check-generated  fail when the committed generated code is stale
#   make lint-spec        lint openapi.yaml and conformance/control-api.yaml with Redocly CLI and Spectral
#   make lint             gofmt, go vet and staticcheck (pinned, fetched by go run)
#   make test             all of the above checks, the race-enabled tests and conformance
#   make conformance      the scenarios of conformance/ against the Go client and the TypeScript binding
#   make generate-ts      regenerate the TypeScript binding's types from openapi.yaml
#   make bench            client overhead (wrapper/raw), a 256 MiB download (download/raw) and the load benchmark (about 2 minutes)
#   make fuzz             every fuzz target for FUZZTIME each
#   make demo             the whole flow against the in-memory service
#   make man              the man pages of itwin-export into MANDIR (default man/)

GO          ?= go
GENERATED   := api apitest/internal/exportserver apitest/internal/storageserver
# After api: the command's completion lists the enum values api declares.
GENERATED   += cmd/itwin-export
MANDIR      ?= man
SPEC        := openapi.yaml
CONTROL_SPEC := conformance/control-api.yaml
NPM_STAMP   := node_modules/.installed

FUZZTIME    ?= 30s
FUZZ_TARGETS = FuzzAPIErrorBody FuzzResolveLocation FuzzParseRetryAfter FuzzValidateRunRequest FuzzRedact FuzzSafeFileName FuzzDecodeRun \
               ./cmd/itwin-export/:FuzzOutputFilter
BENCH_COUNT ?= 5
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# DOWNLOAD_REPORT reads BenchmarkDownload's metrics and prints the two
# figures; it fails above a ratio of 1.10 or a heap growth of 16 MiB.
DOWNLOAD_REPORT = /^BenchmarkDownload/ { for (i = 3; i < NF; i++) { if ($$(i+1) == "download/raw") r = $$i; if ($$(i+1) == "peak-heap-MiB") h = $$i } } \
	END { if (r == "") { print "download benchmark: no result"; exit 1 } \
	printf "download/raw: %.2f (goal <= 1.05)\npeak heap growth: %.1f MiB (goal <= 16 MiB)\n", r, h; \
	if (r > 1.10 || h > 16) { print "FAIL: download above its bounds"; exit 1 } }

.PHONY: man test-tools
.PHONY: all generate check-generated vet lint test go-test lint-spec demo bench fuzz conformance generate-ts

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

# staticcheck at a pinned version: go run fetches it through the module proxy
# without adding it to go.mod.
lint: vet
	$(GO) run $(STATICCHECK) ./...

go-test:
	$(GO) test -race -count=1 ./...

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

test: check-generated lint go-test lint-spec conformance

# Prints "go: N/N, typescript: N/N"; fails when any scenario fails, the
# binding's types are stale or it does not type-check.
conformance: $(NPM_STAMP)
	@GO=$(GO) bash conformance/run.sh

generate-ts: $(NPM_STAMP)
	npx --no-install openapi-typescript $(SPEC) --output bindings/typescript/src/export-api.d.ts

demo:
	$(GO) run ./cmd/itwin-export demo

# Client overhead: raw net/http, the generated client and the wrapper against
# one loopback server, each alone and then interleaved, BENCH_COUNT times,
# and raw and wrapper over an in-memory transport (BenchmarkClientCost);
# benchreport prints the medians and "wrapper/raw: X.XX" (from the interleaved
# runs) and fails above 1.10 or 60 allocations over raw. Then a 256 MiB
# download on loopback, wrapper and raw net/http interleaved (4 pairs):
# "download/raw: X.XX" (goal 1.05; fails above 1.10, as above) and the peak
# heap growth during the wrapper's downloads (fails above 16 MiB). Then the
# load benchmark: 200 exports, 50 at a time, 500 requests a "minute".
bench:
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	$(GO) test -c -o "$$dir/wrapper.test" ./wrapper/ && \
	(cd wrapper && "$$dir/wrapper.test" -test.run '^$$' -test.bench '^Benchmark(CreateRun|GetRun|ClientCost)$$' -test.benchmem -test.count $(BENCH_COUNT)) > "$$dir/bench.txt"; \
	status=$$?; cat "$$dir/bench.txt"; [ $$status -eq 0 ] && \
	$(GO) run ./internal/benchreport -max-ratio 1.10 -max-extra-allocs 60 < "$$dir/bench.txt" && \
	(cd wrapper && "$$dir/wrapper.test" -test.run '^$$' -test.bench '^BenchmarkDownload$$' -test.benchtime 3x) > "$$dir/download.txt"; \
	status=$$?; cat "$$dir/download.txt"; [ $$status -eq 0 ] && \
	awk '$(DOWNLOAD_REPORT)' "$$dir/download.txt" && \
	(cd wrapper && "$$dir/wrapper.test" -test.run '^$$' -test.bench '^BenchmarkLoad$$' -test.benchtime 1x)

# Each fuzz target runs FUZZTIME on its own (go test -fuzz takes one target
# at a time); their seed corpora run in every go test. A target is
# PACKAGE:NAME, or NAME for one of ./wrapper/.
fuzz:
	@for target in $(FUZZ_TARGETS); do \
		case $$target in *:*) pkg=$${target%%:*}; name=$${target#*:};; *) pkg=./wrapper/; name=$$target;; esac; \
		echo "fuzz: $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done
