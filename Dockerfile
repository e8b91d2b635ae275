# syntax=docker/dockerfile:1
#
# arrsync: one image for the three processes. It runs arrsync-bridge by default;
# docker-compose.yml runs arrsync-syncer and arrsync-notify from the same image.
#
#   docker compose build                      # PUID/PGID come from .env
#   docker build --build-arg PUID=$(id -u) --build-arg PGID=$(id -g) -t arrsync:local .
#
# Python 3.11 on Debian bookworm, both pinned: the python image's docs advise naming the
# Debian release when an image installs Debian packages (rsync here), so that a new Debian
# release cannot change them under a rebuild.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# rsync does the copying. tzdata makes TZ (from .env) apply to the log timestamps.
# Not pinned to Debian package versions: bookworm's security updates replace them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends rsync tzdata \
    && rm -rf /var/lib/apt/lists/*

# The account the processes run as. Its UID/GID decide who owns what the syncer writes on
# the destination share and what it may read on the source, so they follow the PUID/PGID
# build arguments, which docker-compose.yml passes from .env.
#
# Why build arguments and not `user: "${PUID}:${PGID}"` in docker-compose.yml (which needs
# no rebuild): Docker fills a new named volume with the image's /data, owner included. With
# the ids baked in, /data (spool and job store) is created writable for exactly that user;
# a `user:` that differs from the image would find it owned by someone else and fail to
# start. So: after changing PUID/PGID, rebuild (`docker compose up -d --build`), and if the
# data volume already exists, hand it over once:
#   docker compose run --rm --no-deps --user 0 bridge chown -R <PUID>:<PGID> /data
#
# A GID that already exists (100 "users" on Synology and Unraid) is reused; UID 0 is refused.
ARG PUID=1000
ARG PGID=1000
RUN set -eu; \
    if [ "$PUID" = 0 ]; then echo "PUID=0 would run arrsync as root; choose another" >&2; exit 1; fi; \
    getent group "$PGID" >/dev/null || groupadd --gid "$PGID" arrsync; \
    getent passwd "$PUID" >/dev/null || useradd --no-log-init --uid "$PUID" --gid "$PGID" \
        --home-dir /data --no-create-home --shell /usr/sbin/nologin arrsync; \
    install -d -o "$PUID" -g "$PGID" -m 0750 /data

WORKDIR /app

# Dependencies first, in their own layer: a code change does not download them again.
# pyproject.toml names them (with ranges); constraints.txt pins the versions the tests ran with.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt -c constraints.txt \
    && rm /tmp/requirements.txt

# Then the project itself (.dockerignore lets only pyproject.toml, README and the packages in).
COPY . .
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build ./*.egg-info \
    && ln -s /data /app/data

# The config file is mounted here (read-only) by docker-compose.yml. With ARRSYNC_CONFIG set,
# `docker compose exec syncer arrsync-syncer jobs` finds it without --config. No secret is
# set in the image: passwords and Apprise URLs come from the environment at run time (.env).
# /app/data points at /data, so the default ./data/... paths of a config land in the volume.
ENV ARRSYNC_CONFIG=/config/arrsync.yml

USER ${PUID}:${PGID}
EXPOSE 5000
CMD ["arrsync-bridge"]
