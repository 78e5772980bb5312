# syntax=docker/dockerfile:1
# swift-gpt-sovits HTTP server (api_v2 + OpenAI routes) in a container.
#
#   docker build -t gpt-sovits .
#   docker run --rm -p 9880:9880 -v gsv-models:/models -v "$PWD/refs:/refs:ro" gpt-sovits \
#       serve -a 0.0.0.0 --ref-root /refs --token "$GSV_SERVER_TOKEN"
#
# Models live in the /models volume (GSV_CACHE_DIR, official pretrained_models layout). The first
# start of an empty volume downloads the official v2 set (and the full language-ID model) into it;
# set GSV_SKIP_DOWNLOAD=1 to refuse to start without them instead. See docs/DEPLOYMENT.md.

ARG SWIFT_VERSION=6.3

FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libopenblas-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# (SwiftPM checks every target's folder, test targets included, before it resolves or builds.)
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product gpt-sovits \
    && mkdir -p /out \
    && cp .build/release/gpt-sovits /out/ \
    && cp -R .build/release/*.resources /out/

FROM swift:${SWIFT_VERSION}-bookworm-slim
# libopenblas0: BLAS at run time; ffmpeg: non-WAV reference clips and mp3/opus/aac/flac output;
# curl: the health check.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libopenblas0 ffmpeg curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 gsv \
    && mkdir -p /models && chown gsv /models
# The executable and its resource bundles (text frontend data) must stay side by side.
COPY --from=build /out/ /opt/gpt-sovits/
COPY scripts/docker-entrypoint.sh /opt/gpt-sovits/docker-entrypoint.sh
ENV PATH=/opt/gpt-sovits:$PATH \
    GSV_CACHE_DIR=/models
USER gsv
VOLUME ["/models"]
EXPOSE 9880
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s CMD curl -fsS http://127.0.0.1:9880/health || exit 1
ENTRYPOINT ["/opt/gpt-sovits/docker-entrypoint.sh"]
CMD ["serve", "-a", "0.0.0.0", "-p", "9880"]
