# gcrsync in a container: Node on Debian slim, git and CA certificates, a non-root user, and the package installed
# from the tarball `npm pack` makes (the same file npm publishes). From a clone:
#   npm ci && npm pack && docker build -t gcrsync .
# Optional dependencies are left out, so the image has the registry transport only (no dockerode, no daemon).
# BASE may name another image with Node >= 20.18 and npm on Debian (the tests build on a debootstrap base).
ARG BASE=node:20-bookworm-slim
FROM ${BASE}

# the metadata repo is cloned, committed and pushed with git; https remotes need the CA certificates
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*

COPY gcrsync-*.tgz /tmp/
# into a prefix, not --global: npm ignores --omit with --global and a tarball (npm/cli#8284)
RUN set -- /tmp/gcrsync-*.tgz \
 && if [ "$#" -ne 1 ]; then echo "the build context needs exactly one gcrsync-*.tgz (npm pack), found: $*" >&2; exit 1; fi \
 && npm install --prefix /opt/gcrsync --omit=dev --omit=optional --no-audit --no-fund "$1" \
 && ln -s /opt/gcrsync/node_modules/.bin/gcrsync /usr/local/bin/gcrsync \
 && npm cache clean --force \
 && rm "$1"

RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin gcrsync
USER 10001:10001
WORKDIR /home/gcrsync
ENTRYPOINT ["gcrsync"]
CMD ["--help"]
