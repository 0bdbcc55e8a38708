# Skirmish game server image: one static-enough binary (the page, wasm client, sounds and maps are
# embedded in it) on a slim base. Build: `docker build -t skirmish .`; run: `docker run -p
# 8080:8080 skirmish`. Under Agones the SDK sidecar's port arrives as AGONES_SDK_HTTP_PORT.

# --- build: the server, whose build script compiles the wasm client ---
FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-unknown-unknown
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin skirmish \
    && cp target/release/skirmish /skirmish

# --- run: the binary alone ---
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home skirmish
COPY --from=build /skirmish /usr/local/bin/skirmish
USER skirmish
EXPOSE 8080
# No QR code in a container's log; the invite URL of a pod is the matchmaker's business.
ENV SKIRMISH_NO_QR=true
ENTRYPOINT ["/usr/local/bin/skirmish"]
