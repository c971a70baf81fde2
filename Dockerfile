# syntax=docker/dockerfile:1
# pagefold and its example reducer plugins, in a small image that runs as a non-root user.
#   docker build -t pagefold .
#   docker run --rm -e GITHUB_TOKEN -v "$PWD/jobs:/jobs:ro" pagefold run /jobs/github-issues.toml -o -
# Kubernetes manifests that use it: deploy/kubernetes.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The caches keep crates.io downloads and compiled dependencies between builds; they are not
# part of any layer, so the artifacts are copied out in the same step. `--locked`: the image
# is built from the versions that the tests ran with, never newer ones.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p pagefold \
        -p quantiles -p group_stats -p top_records -p sum_field \
 && mkdir -p /out/plugins \
 && cp target/release/pagefold /out/ \
 && cp target/release/libquantiles.so target/release/libgroup_stats.so \
       target/release/libtop_records.so target/release/libsum_field.so /out/plugins/

# The same Debian release as the builder, so the binary finds the glibc it was linked against.
FROM debian:bookworm-slim
# HTTPS to APIs uses the roots compiled into pagefold (rustls with webpki-roots); the system's
# store is there for any client that reads it instead.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid, so that Kubernetes' runAsNonRoot can check it without reading
# /etc/passwd, and files on shared volumes have a predictable owner.
RUN groupadd --system --gid 10001 pagefold \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin pagefold \
 && mkdir -p /jobs /var/lib/pagefold \
 && chown 10001:10001 /var/lib/pagefold
COPY --from=build /out/pagefold /usr/local/bin/pagefold
# Owned by root and not writable by the user pagefold runs as: `validate` warns about a plugin
# file that anyone may replace, since loading it runs its code.
COPY --from=build /out/plugins/ /usr/local/lib/pagefold/
# The user has no home, so the run history and incremental marks need a folder named here;
# mount a volume on it to keep them between containers.
ENV PAGEFOLD_STATE=/var/lib/pagefold
USER 10001:10001
# A binary or plugin that cannot load on this base image fails the build, not the first run.
RUN ["pagefold", "--version"]
RUN ["pagefold", "plugin", "check", "/usr/local/lib/pagefold/libquantiles.so"]
WORKDIR /jobs
ENTRYPOINT ["pagefold"]
CMD ["--help"]
