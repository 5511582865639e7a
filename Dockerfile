# The auth-server image: the same release build as the Debian package
# (`cargo build --release -p auth-server --locked`, which `cargo deb` runs
# in scripts/check-package) and the same configuration file
# (auth-server/debian/auth-server.toml), run as a non-root user.
#
#   docker build -t auth-server .
#   docker run --rm -e AUTH_BOOTSTRAP_PASSWORD=change-me -v auth-data:/var/lib/auth-server \
#       auth-server bootstrap --public-url http://127.0.0.1:5000
#   docker run -p 5000:5000 -v auth-data:/var/lib/auth-server auth-server
#
# compose.yaml runs two nodes on PostgreSQL with it.

# Debian 12 on both stages, so the binary finds the glibc it was linked to.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p auth-server --locked \
    && install -D -m 0755 target/release/auth-server /out/auth-server

FROM debian:bookworm-slim
RUN groupadd --system auth-server \
    && useradd --system --gid auth-server --home-dir /var/lib/auth-server \
        --no-create-home --shell /usr/sbin/nologin auth-server \
    && install -d -o auth-server -g auth-server -m 0750 \
        /var/lib/auth-server /var/lib/auth-server/keys
COPY --from=build /out/auth-server /usr/bin/auth-server
COPY --chown=root:auth-server --chmod=0640 auth-server/debian/auth-server.toml /etc/auth-server/auth-server.toml
USER auth-server
WORKDIR /var/lib/auth-server
# The packaged file listens on 127.0.0.1; in a container, every interface.
ENV AUTH_CONFIG=/etc/auth-server/auth-server.toml \
    AUTH_LISTEN=0.0.0.0:5000
EXPOSE 5000
VOLUME ["/var/lib/auth-server"]
ENTRYPOINT ["/usr/bin/auth-server"]
CMD ["serve"]
