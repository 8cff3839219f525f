# syntax=docker/dockerfile:1
# Build: SQLite, libpq and OpenSSL are compiled from source (bundled), so only Rust and a C
# toolchain are needed.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY data data
COPY docs docs
RUN cargo build --release --locked \
 && strip target/release/khongdee

# Run: a slim image with the one binary, as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/khongdee --shell /usr/sbin/nologin khongdee \
 && mkdir -p /var/lib/khongdee \
 && chown khongdee:khongdee /var/lib/khongdee
COPY --from=build /src/target/release/khongdee /usr/local/bin/khongdee
USER khongdee
WORKDIR /var/lib/khongdee
ENV KHONGDEE_BIND=0.0.0.0:8080 \
    KHONGDEE_DATA_DIR=/var/lib/khongdee \
    KHONGDEE_DATABASE_URL=sqlite:///var/lib/khongdee/khongdee.db \
    KHONGDEE_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["khongdee"]
CMD ["serve"]
