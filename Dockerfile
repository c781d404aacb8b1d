# venuemon in a container: a build stage with Rust, a small Debian runtime with the programs,
# the example config and nothing else, run as a user of its own with no capability.
#   docker build -t venuemon .
#   docker run --network host venuemon            # zero-config, on the host's interfaces
# compose.yaml runs it beside Prometheus, Alertmanager and Grafana (README, "Build day").
# The test suite cannot build this image (no registry to pull the base images from there):
# `docker-compose config` checks compose.yaml, the unit tests check the binary.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
# Only what the build reads (.dockerignore lists the same): the manifest, the sources, the
# page templates, the benches the manifest declares.
COPY Cargo.toml Cargo.lock build.rs ./
COPY .cargo ./.cargo
COPY src ./src
COPY templates ./templates
COPY benches ./benches
COPY deploy/venuemon.example.toml ./deploy/venuemon.example.toml
# Both programs: the agent, and venuemon-tools (report, simulate, replay) that it hands the
# offline commands to. .cargo/config.toml names the target, hence the host tuple in the path.
RUN cargo build --release --locked \
    && mkdir /out \
    && cp "target/$(rustc --print host-tuple)/release/venuemon" \
          "target/$(rustc --print host-tuple)/release/venuemon-tools" /out/

FROM debian:bookworm-slim
# tzdata: [venue] timezone is read from /usr/share/zoneinfo.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --uid 10001 --no-create-home \
        --home-dir /var/lib/venuemon --shell /usr/sbin/nologin venuemon \
    && install -d -o venuemon -g venuemon -m 0700 /var/lib/venuemon
COPY --from=build /out/ /usr/local/bin/
COPY deploy/venuemon.example.toml /etc/venuemon/venuemon.example.toml
# The event key goes here (a volume, so client ids survive a new container).
ENV STATE_DIRECTORY=/var/lib/venuemon
VOLUME /var/lib/venuemon
USER venuemon
# The agent's default [http] listen port.
EXPOSE 9842
# /healthz with bash's /dev/tcp: the image holds no HTTP client. It assumes plain HTTP on
# port 9842; with another port or TLS, override it in compose.yaml or turn it off.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9842 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -qx ok <&3"]
ENTRYPOINT ["/usr/local/bin/venuemon"]
CMD ["run"]
