# coopledger node: `coop node start` in a small python:3.11-slim image.
#
#   docker build -t coopledger .          (docker-compose.yml builds it for you)
#   docker run -d -v garden:/var/lib/coopledger -e COOP_NAME="Hillside Garden" \
#       -p 127.0.0.1:4141:4141 coopledger
#
# Two stages: the first compiles what has no wheel (fastecdsa, pulled in by libp2p,
# needs gcc and GMP) into a virtualenv; the second carries only that virtualenv, the
# GMP runtime library and the entrypoint. No [test] extras, no compiler, no pip cache.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libgmp-dev \
 && rm -rf /var/lib/apt/lists/*

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The virtualenv has no pip of its own: the base image's pip installs into it.
RUN python -m venv --without-pip /opt/coop

WORKDIR /src
# Dependencies first, read from pyproject.toml, so that a change to our own sources
# does not rebuild libp2p and its compiled dependencies.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip --python /opt/coop/bin/python install -r /tmp/requirements.txt

# Our own sources (the package-dir mapping in pyproject.toml). A regular, non-editable
# install without extras: nothing of the test tool chain goes into the image.
COPY coopledger/ coopledger/
COPY crypto/ crypto/
COPY protocol/ protocol/
COPY node/ node/
COPY cli/ cli/
RUN pip --python /opt/coop/bin/python install --no-deps /src \
 && /opt/coop/bin/coop --version


FROM ${PYTHON_IMAGE}

# libgmp10: the one shared library the compiled fastecdsa loads at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgmp10 \
 && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged uid/gid, so that files in a volume keep one owner across
# rebuilds. The volume's mount point is created here, owned by coop and private: a new
# named volume copies that owner and mode.
RUN groupadd --system --gid 10001 coop \
 && useradd --system --uid 10001 --gid coop --home-dir /var/lib/coopledger \
        --no-create-home --shell /usr/sbin/nologin coop \
 && install -d -o coop -g coop -m 0700 /var/lib/coopledger

COPY --from=build /opt/coop /opt/coop
# docker/entrypoint.sh is committed executable (mode 100755); COPY keeps the mode.
COPY docker/entrypoint.sh /usr/local/bin/coop-entrypoint

# COOP_HOME is a directory *inside* the volume, not the mount point itself: `coop init`
# builds a home beside its final place and renames it there, and a mount point cannot
# be renamed over. `docker exec … coop …` finds the home through COOP_HOME.
ENV PATH=/opt/coop/bin:$PATH \
    COOP_HOME=/var/lib/coopledger/home \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

USER coop
VOLUME ["/var/lib/coopledger"]

# libp2p (TCP). The API port 4141 is deliberately not EXPOSEd, so that `docker run -P`
# never publishes it on every interface; publish it yourself, on loopback:
# -p 127.0.0.1:4141:4141.
EXPOSE 4140

# `docker stop` sends SIGTERM: the daemon stops cleanly on it (SIGINT too), also as
# PID 1, because it installs its own handlers.

# GET /v1/health needs no token and touches nothing in the node; the standard library
# is enough (no libp2p import every 30 s). It asks the API port that CMD below and
# docker-compose.yml give --api (tests/deploy checks that they agree).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4141/v1/health', timeout=5)"]

ENTRYPOINT ["/usr/local/bin/coop-entrypoint"]
# Inside a container the API must listen on all of the container's interfaces for a
# published port to reach it; the host side of that port is what decides who can connect
# (docker-compose.yml publishes it on 127.0.0.1 only). Every request needs the token.
CMD ["coop", "node", "start", "--listen", "/ip4/0.0.0.0/tcp/4140", "--api", "0.0.0.0:4141"]
