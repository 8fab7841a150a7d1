# `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help test lint fmt deny

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

test: ## The whole suite (installs DynamoDB Local on first use; starts and stops it)
	@scripts/test.sh

lint: ## rustfmt check, clippy with warnings denied, cargo-deny (bans, licenses, sources)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	@scripts/cargo-deny.sh check bans licenses sources

fmt: ## Format the code
	cargo fmt --all

# ---------------------------------------------------------------------------------------------------
# Deploy to AWS (CDK app in deploy/). `make install bootstrap deploy STAGE=prod`. Everything except
# bootstrap/deploy/destroy/outputs runs offline without credentials.
STAGE ?= dev
STACK ?= UGC-$(STAGE)
SCHEDULE ?= rate(48 hours)
PUBLISH ?=
AWS_PROFILE ?=
ENV_FILE ?=
APPROVAL ?= broadening
SYNTH_STAGES ?= dev prod
CDK := cd deploy && npx cdk --no-notices
CDK_CONTEXT = -c stage=$(STAGE) -c stackName=$(STACK) -c "scheduleExp=$(SCHEDULE)" \
	$(if $(PUBLISH),-c publish=$(abspath $(PUBLISH))) $(if $(AWS_PROFILE),--profile $(AWS_PROFILE))
CDK_FAST_APP := --app "npx ts-node --transpile-only --prefer-ts-exts bin/app.ts"

.PHONY: app install bootstrap deploy destroy synth outputs test-infra

app: install bootstrap deploy ## install + bootstrap + deploy (STAGE=dev|prod, AWS_PROFILE=..., PUBLISH=<spa build dir>)

install: ## Install the CDK toolchain (npm ci in deploy/)
	cd deploy && npm ci --no-audit --no-fund

# The CDK targets install the toolchain first when deploy/node_modules is missing (a fresh clone).
deploy/node_modules:
	@echo "installing the CDK toolchain (npm ci in deploy/, first use only)"
	cd deploy && npm ci --no-audit --no-fund

bootstrap: | deploy/node_modules ## Bootstrap CDK in the target account/region (once per account and region)
	$(CDK) bootstrap $(CDK_CONTEXT) -c skipBundling=true

deploy: | deploy/node_modules ## Build images + Lambdas (Docker) and deploy the stack (UGC-<stage>); prints the SPA .env lines (ENV_FILE=path writes them)
	@mkdir -p deploy/cdk.out
	$(CDK) deploy $(STACK) $(CDK_CONTEXT) --require-approval $(APPROVAL) --outputs-file cdk.out/outputs-$(STACK).json
	@node deploy/scripts/outputs-to-env.js deploy/cdk.out/outputs-$(STACK).json $(STACK) $(ENV_FILE)

destroy: | deploy/node_modules ## Delete the stack (prod keeps its tables, user pool and assets bucket; FORCE=1 skips the prompt)
	$(CDK) destroy $(STACK) $(CDK_CONTEXT) -c skipBundling=true $(if $(FORCE),--force)
	rm -rf deploy/cdk.out

synth: | deploy/node_modules ## Synthesize dev and prod templates offline into deploy/cdk.out/<stage>/ (no credentials, no Docker)
	@for s in $(SYNTH_STAGES); do \
		echo "synth $$s"; \
		(cd deploy && npx cdk --no-notices synth --quiet $(CDK_FAST_APP) -c skipBundling=true -c stage=$$s \
			-c stackName=UGC-$$s -c "scheduleExp=$(SCHEDULE)" -o cdk.out/$$s) || exit 1; \
		echo "  deploy/cdk.out/$$s/UGC-$$s.template.json"; \
	done

outputs: ## Print the deployed stack's outputs as the SPA's .env lines (ENV_FILE=path writes them)
	@tmp=$$(mktemp) && trap 'rm -f "$$tmp"' EXIT && \
	aws cloudformation describe-stacks --stack-name $(STACK) --output json \
		$(if $(AWS_PROFILE),--profile $(AWS_PROFILE)) >"$$tmp" && \
	node deploy/scripts/outputs-to-env.js "$$tmp" $(STACK) $(ENV_FILE)

.PHONY: media-check
media-check: ## Real video end to end: ugc-local + RTMP test pattern + IVS player in headless Chromium (installs chromium, npm ci)
	@scripts/media-e2e.sh

test-infra: ## Offline infrastructure tests: tsc, CDK assertions, synth, cfn-lint, cfn-guard
	@scripts/test-infra.sh

# ---------------------------------------------------------------------------------------------------
# Local platform: no AWS account, no Docker. `make run` in one terminal, the others in another.
SEED_COUNT ?= 50
OFFLINE_SESSION_COUNT ?= 1
STREAM_ACTION = $(if $(STOP),stop,$(if $(STARVE),starve,$(if $(RECOVER),recover,$(if $(BREACH),breach,$(if $(FAIL),fail,$(if $(START),start,publish))))))

.PHONY: run stream seed

run: ## The whole platform on 127.0.0.1 (DynamoDB Local + emulator + services); data kept in .local/
	@scripts/run.sh

stream: ## Publish a test pattern over RTMP to a user's channel: USER=<name> (simulated: START=1|STOP=1|STARVE=1|RECOVER=1|BREACH=1|FAIL=1)
	@$(if $(filter command line,$(origin USER)),,$(error make stream needs USER=<username>))
	@scripts/stream.sh "$(USER)" $(STREAM_ACTION)

seed: ## Demo users, follows, live channels and past sessions (SEED_COUNT=50 OFFLINE_SESSION_COUNT=1)
	@SEED_COUNT=$(SEED_COUNT) OFFLINE_SESSION_COUNT=$(OFFLINE_SESSION_COUNT) scripts/seed.sh

.PHONY: bench soak link-order migrate migrate-bench

bench: ## Benchmark (prints a table, saves bench/results.md; installs oha, builds release; not part of test)
	@scripts/bench.sh

migrate: ## Migrate make run's tables with ugc-admin (DRY_RUN=1 reports only; MIGRATE_ARGS="--json ...")
	@scripts/migrate.sh

migrate-bench: ## Time ugc-admin migrate on 10,000 upstream profiles / 100,000 sessions in DynamoDB Local
	@scripts/migrate-bench.sh

link-order: ## Re-list the functions the services run at start for the bench build's code layout (needs valgrind; bench/link-order.txt)
	@scripts/bench.sh link-order

soak: ## Mixed traffic for SOAK_MINUTES (30); RSS, FDs, p99 per window; fails on growth or lost events (bench/soak.md)
	@scripts/bench.sh soak
