# Build on the same Debian release the runtime uses, so the binary links against the glibc it
# will find there.
FROM rust:1-bookworm AS builder
WORKDIR /build
# Only what `cargo build` reads: a change to docs, tests or sample content must not invalidate
# the (slow) compile layer.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# --locked: the image must contain exactly the dependency versions that were reviewed and tested.
RUN cargo build --release --locked

FROM debian:bookworm-slim
# ca-certificates for outbound TLS; curl only so the HEALTHCHECK can probe the service.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid lets operators grant the container access to mounted volumes predictably. The
# working directory belongs to it so `tidings build` can write its output (./public) there too.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /srv/tidings \
        --shell /usr/sbin/nologin tidings \
    && install -d -o tidings -g tidings /srv/tidings
COPY --from=builder /build/target/release/tidings /usr/local/bin/tidings
COPY config/ /etc/tidings/
# Sample content so the image serves something out of the box; mount a volume to replace it.
COPY feeds/ /srv/tidings/feeds/
VOLUME ["/srv/tidings/feeds", "/etc/tidings"]
WORKDIR /srv/tidings
# Bind to all interfaces: inside a container, loopback is unreachable from the host.
ENV TIDINGS_BIND=0.0.0.0:8080 \
    TIDINGS_CONFIG=/etc/tidings/tidings.toml \
    TIDINGS_CONTENT=/srv/tidings/feeds \
    TIDINGS_LOG=info
EXPOSE 8080
# The start period covers the initial load of a large content directory.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
USER tidings
ENTRYPOINT ["tidings"]
CMD ["serve"]
