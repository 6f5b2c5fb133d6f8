# Capstan: one binary for every role. Multi-stage build; the runtime image carries the tools the repo
# server runs (git, ssh, kustomize, helm) and nothing else.
# Build: docker build -t capstan .   (not exercised on the development machines: they have no Docker engine)

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p capstan \
 && strip target/release/capstan

FROM debian:bookworm-slim AS tools
ARG KUSTOMIZE_VERSION=v5.8.1
ARG HELM_VERSION=v4.2.4
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
 && curl -fsSL "https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2F${KUSTOMIZE_VERSION}/kustomize_${KUSTOMIZE_VERSION}_linux_amd64.tar.gz" | tar -xz -C /usr/local/bin kustomize \
 && curl -fsSL "https://get.helm.sh/helm-${HELM_VERSION}-linux-amd64.tar.gz" | tar -xz -C /tmp \
 && mv /tmp/linux-amd64/helm /usr/local/bin/helm

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git openssh-client gnupg tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 999 --create-home --home-dir /home/capstan capstan
COPY --from=tools /usr/local/bin/kustomize /usr/local/bin/helm /usr/local/bin/
COPY --from=build /src/target/release/capstan /usr/local/bin/capstan
USER 999
WORKDIR /home/capstan
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/capstan"]
