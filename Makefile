# m3lab — two entry points: `make lab` (the main job) and `make test` (the project's tests).
# Both install what is missing themselves: Debian packages with apt-get (as root)
# and npm packages with `npm ci`.
SHELL := /bin/bash
M3LAB := node bin/m3lab.js

# Host tools the lab and its tests need, and the Debian packages that provide them
# (chromium: the verdicts suite opens a report in headless Chromium).
HOST_TOOLS := qemu-system-x86_64:qemu-system-x86 vde_switch:vde2 lz4:lz4 readelf:binutils \
	dpkg-deb:dpkg cpio:cpio gcc:gcc make:make flex:flex bison:bison bc:bc xz:xz-utils \
	socat:socat file:file vagrant:vagrant slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge \
	chromium:chromium
# Files (not commands) the build needs: static glibc for the guest programs, and
# the headers a kernel build from linux-source needs (libelf for objtool, OpenSSL
# for the certificate tools).
HOST_FILES := /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev /usr/include/libelf.h:libelf-dev \
	/usr/include/openssl/ssl.h:libssl-dev /usr/lib/x86_64-linux-gnu/libsodium.a:libsodium-dev

.PHONY: lab test deps npm image kernels kmod unit typecheck down clean help

help:
	@echo "make lab   build what is missing, boot the default 3-node lab, run the suites, write the report"
	@echo "make test  the project's own tests: unit tests and the lab suites in real QEMU guests"

deps: npm
	@missing=""; for pair in $(HOST_TOOLS); do \
		tool=$${pair%%:*}; pkg=$${pair##*:}; \
		command -v $$tool >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	for pair in $(HOST_FILES); do \
		[ -e "$${pair%%:*}" ] || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "m3lab: missing Debian packages:$$missing — run as root or: sudo apt-get install$$missing"; exit 1; \
		fi; \
		echo "m3lab: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

npm: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

image: deps
	@$(M3LAB) image build

# The kernel variants the tests boot (debug, up), built from Debian's
# linux-source and cached outside the clone (~/.cache/m3lab, M3LAB_CACHE).
kernels: image
	@$(M3LAB) image build --kernel default,debug,up

# The module against the image's own headers, and the static guest programs.
kmod: image
	@$(M3LAB) kmod build

typecheck: npm
	@npx tsc --noEmit -p .

unit: npm
	@npx vitest run --project unit

lab: deps
	@$(M3LAB) lab

test: deps typecheck kernels
	@rm -rf allure-results
	@npx vitest run

down:
	@$(M3LAB) down

clean:
	rm -rf allure-results allure-report reports .m3lab/failed
	$(MAKE) -C kmod clean KDIR=$(CURDIR)/.cache/headers/none 2>/dev/null || rm -rf kmod/build
