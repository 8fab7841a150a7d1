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
