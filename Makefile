# The two set-up commands of the README, and helpers.
.PHONY: demo test deps bench install deb man screenshots

PREFIX ?= /usr/local
DESTDIR ?=
CONFIGURATION ?= release
export PREFIX DESTDIR CONFIGURATION

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
	scripts/bench 10000 100000 1000000
	scripts/bench-feed 1000000 50000

# Binary (release, Swift runtime linked in), units, sysusers, tmpfiles, example configuration, man
# page, completions and docs under $(DESTDIR)$(PREFIX).
install: deps
	scripts/install

# dist/rollcall_VERSION_ARCH.deb, built with dpkg-deb.
deb: deps
	scripts/deb

# docs/images/review-*.png: the review page test's screenshots (headless Chromium), for docs/governance.md.
screenshots: deps
	ROLLCALL_SCREENSHOTS=$(CURDIR)/docs/images swift test --filter ReviewPageTests

# docs/rollcall.8 from the CLI's own help (swift-argument-parser's generate-manual plugin).
man:
	swift package --allow-writing-to-package-directory generate-manual --configuration debug --section 8 --authors Rollcall
	cp .build/plugins/GenerateManual/outputs/rollcall/rollcall.8 docs/rollcall.8
