# syntax=docker/dockerfile:1
# The three Vigil programs, built once in a Rust stage, each shipped in its
# own small Debian image (docker-compose.yml picks them with `target:`):
#
#   docker build --target vigil-exporter -t vigil-exporter .
#   docker build --target vigil          -t vigil .
#   docker build --target demo-app       -t vigil-demo-app .

# --- build -----------------------------------------------------------------
# The workspace's rust-version; bookworm, like the runtime stage, so the
# binaries find the glibc they were linked against.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cargo's registry and the target folder are cache mounts: a rebuild after a
# source change recompiles the workspace, not its dependencies.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p vigil-exporter --bin vigil-exporter \
        -p vigil --bin vigil \
        -p vigil-tests --bin vigil-demo-app \
 && mkdir -p /out \
 && cp target/release/vigil-exporter target/release/vigil target/release/vigil-demo-app /out/

# --- shared runtime ----------------------------------------------------------
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/vigil --create-home vigil
USER vigil
WORKDIR /var/lib/vigil

# --- vigil-exporter ------------------------------------------------------------
FROM runtime AS vigil-exporter
COPY --from=build /out/vigil-exporter /usr/local/bin/vigil-exporter
EXPOSE 10187
ENTRYPOINT ["vigil-exporter"]
CMD ["--config.file=/etc/vigil/vigil-exporter.yml", "--web.listen-address=0.0.0.0:10187"]

# --- vigil ---------------------------------------------------------------------
FROM runtime AS vigil
COPY --from=build /out/vigil /usr/local/bin/vigil
# The SQLite database (alert state, outbox, SLA ledger) lives here.
VOLUME ["/var/lib/vigil"]
EXPOSE 10188
ENTRYPOINT ["vigil"]
CMD ["run", "--config.file=/etc/vigil/vigil.yml", "--web.listen-address=0.0.0.0:10188"]

# --- demo app --------------------------------------------------------------------
FROM runtime AS demo-app
COPY --from=build /out/vigil-demo-app /usr/local/bin/vigil-demo-app
EXPOSE 3001
ENTRYPOINT ["vigil-demo-app"]
CMD ["--listen=0.0.0.0:3001"]
