# tidings in a container: the binary alone on Debian, running as a fixed non-root user, with
# the content (the site's posts and its _config.yml) mounted at /srv/tidings/site.
#
# Base images are pinned by version. To move on: set RUST_VERSION to the toolchain the project
# builds with (rustc --version) and DEBIAN_VERSION to the current Debian 12 point release,
# build, and run scripts/container-check.
ARG RUST_VERSION=1.95.0
ARG DEBIAN_VERSION=12.11

# Build on the same Debian release the runtime uses, so the binary links against the glibc it
# will find there.
FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /build
# Dependencies first, in a layer of their own: a change to tidings' sources then recompiles
# tidings alone. The manifest names the benches, so they come along (cargo refuses a manifest
# whose targets are missing); stub sources stand in for the crate's own.
COPY Cargo.toml Cargo.lock ./
COPY benches ./benches
RUN mkdir -p src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/.fingerprint/tidings-* target/release/deps/tidings-* \
        target/release/deps/libtidings-*
COPY src ./src
# --locked: the image holds exactly the dependency versions that were reviewed and tested.
# Stripped: symbols are for debugging on the build machine, not for shipping.
RUN CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --locked

FROM debian:${DEBIAN_VERSION}-slim
# No packages beyond the base: TLS roots are compiled in (webpki-roots), and the health check
# is the binary itself.
# A fixed uid:gid lets operators grant the container access to mounted volumes predictably.
# The working directory belongs to it so `tidings build` can write its output (./public).
RUN groupadd --system --gid 10001 tidings \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /srv/tidings \
        --shell /usr/sbin/nologin tidings \
    && install -d -o 10001 -g 10001 /srv/tidings /srv/tidings/site
COPY --from=builder /build/target/release/tidings /usr/local/bin/tidings
# No sample site and no sample configuration: the site's identity comes from the mounted
# content's _config.yml, service settings from TIDINGS_* variables (or a mounted file named by
# TIDINGS_CONFIG).
VOLUME ["/srv/tidings/site"]
WORKDIR /srv/tidings
# Bind to all interfaces: inside a container, loopback is unreachable from the host. Set
# TIDINGS_BASE_URL to the address readers use.
ENV TIDINGS_BIND=0.0.0.0:8080 \
    TIDINGS_CONTENT=/srv/tidings/site \
    TIDINGS_LOG=info
EXPOSE 8080
# `tidings health` asks /healthz on the port the settings name, so the check follows
# TIDINGS_BIND. The start period covers the initial load of a large content directory.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD ["tidings", "health"]
USER 10001:10001
ENTRYPOINT ["tidings"]
CMD ["serve"]
