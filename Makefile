# The two set-up commands of the README, and helpers.
.PHONY: demo test deps bench

deps:
	scripts/install-deps

# Main job on the embedded default: private slapd, sample data, sample HR feed, two reconciles.
demo: deps
	scripts/demo

# Every test, against a real slapd on 127.0.0.1 started by the tests themselves.
test: deps
	swift test

# Benchmark figures for docs/benchmarks.md.
bench: deps
	scripts/bench 10000 100000
