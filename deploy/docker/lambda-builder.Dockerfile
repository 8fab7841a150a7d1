# Build container for the Rust Lambdas (CDK `Code.fromAsset` bundling). cargo-lambda ships zig, which
# links against glibc 2.34 so the binaries run on provided.al2023, and cross-compiles to arm64 natively.
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip \
 && rm -rf /var/lib/apt/lists/* \
 && pip3 install --no-cache-dir --break-system-packages cargo-lambda==1.9.2 \
 && rustup target add aarch64-unknown-linux-gnu \
 && chmod -R a+rwX /usr/local/cargo /usr/local/rustup
