# syntax=docker/dockerfile:1
#
# redactctl in a container: the CLI, the Stripe-compatible emulator and the reconcile
# listener, as one static musl binary on a distroless image (no shell, no package manager,
# runs as an unprivileged user). docs/install.md explains how to use it.
#
#   docker build -t redactctl .
#   docker run --rm -v "$PWD:/work" -e STRIPE_API_KEY redactctl plan redactions/
#   docker run --rm -p 12111:12111 redactctl emulator serve --addr 0.0.0.0:12111
#   docker run --rm -p 8080:8080 -v "$PWD:/work" -e STRIPE_API_KEY -e STRIPE_WEBHOOK_SECRET \
#       redactctl reconcile redactions/ --auto-approve --listen 0.0.0.0:8080

ARG RUST_VERSION=1.95

# ---- build: a static binary (musl links statically by default on Alpine) ----
FROM rust:${RUST_VERSION}-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY benches benches
COPY src src
RUN cargo build --release --locked --bin redactctl \
    && install -D -m 0755 target/release/redactctl /out/usr/local/bin/redactctl \
    && mkdir -p /out/work
# Refuse to ship anything that is not static.
RUN ! ldd /out/usr/local/bin/redactctl 2>/dev/null | grep -q '=>'

# ---- run: distroless/static, non-root ----
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/usr/local/bin/redactctl /usr/local/bin/redactctl
COPY --from=build --chown=65532:65532 /out/work /work
WORKDIR /work
USER 65532:65532
# 12111: `emulator serve --addr 0.0.0.0:12111`; 8080: `reconcile --listen 0.0.0.0:8080`.
EXPOSE 12111 8080
ENTRYPOINT ["/usr/local/bin/redactctl"]
CMD ["--help"]
