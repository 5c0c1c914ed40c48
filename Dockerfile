# Everything comes from Debian trixie's archive; nothing is fetched from PyPI.
# Few instructions after the big layers: the classic builder commits each one,
# which takes seconds on slow storage drivers.

FROM debian:trixie-slim AS runtime
# The shell image's defaults, so `docker exec c restic snapshots` and rclone: and Swift
# repositories work as before. RESTIC_REPOSITORY_FILE still overrides RESTIC_REPOSITORY's
# default. A cache volume mounted on the shell image's /.cache/restic is used when present.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RESTIC_REPOSITORY=/mnt/restic \
    RESTIC_CACHE_DIR=/var/cache/restic \
    RCLONE_CONFIG=/config/rclone.conf \
    OS_USER_DOMAIN_NAME=Default \
    OS_PROJECT_DOMAIN_ID=Default \
    OS_IDENTITY_API_VERSION=3 \
    TZ=Europe/Amsterdam
LABEL org.opencontainers.image.title="restic-helper" \
      org.opencontainers.image.description="Runs restic backup, forget, prune and check on cron schedules" \
      org.opencontainers.image.licenses="MIT"
# force-unsafe-io: nothing to lose if the build dies half-way, and fsync is slow
# on overlay storage. Group 0 may write logs, locks and cache: Docker runs a
# `user:` uid without an /etc/passwd entry with gid 0, so that works unchanged.
# A fresh named volume copies its mount point's owner and mode, so the default
# repository path and the metrics directory are prepared here too.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        -o DPkg::Options::=--force-unsafe-io \
        python3 python3-croniter python3-jinja2 python3-requests \
        python3-prometheus-client python3-docker \
        restic rclone ca-certificates tzdata openssh-client fuse3 procps \
        curl msmtp-mta nfs-common \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log \
 && mkdir -p /var/log /var/run/restic-helper /var/cache/restic /hooks /config /data /mnt/restic /metrics \
        /fusemount /restore \
 && chgrp 0 /var/log /mnt/restic /metrics \
 && chmod g+rwX /var/log /mnt/restic /metrics \
 && chmod 1777 /var/run/restic-helper /var/cache/restic
VOLUME /data
HEALTHCHECK --interval=30s --start-period=30s CMD ["/bin/healthcheck"]
ENTRYPOINT ["/bin/entry"]

FROM runtime AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        -o DPkg::Options::=--force-unsafe-io \
        python3-pip python3-setuptools python3-wheel
COPY . /src
# A staging root hands the final stage the package (with dist-info and
# byte-code) and the executables, but no pip or setuptools.
RUN pip install --no-deps --no-build-isolation --no-cache-dir --break-system-packages \
        --root-user-action=ignore --root /staging /src \
 && install -D -m 0755 -t /staging/usr/bin /src/bin/*

FROM runtime
# /bin is a symlink to /usr/bin on trixie, so the executables are /bin/* too.
COPY --from=build /staging/ /
ARG RELEASE=unknown
# The shell image's name for the same build argument; either one sets the release.
ARG RESTIC_BACKUP_HELPER_RELEASE=$RELEASE
# scripts/build-image adds the created, revision and source labels when it knows them.
LABEL org.opencontainers.image.version="$RESTIC_BACKUP_HELPER_RELEASE"
ENV RESTIC_BACKUP_HELPER_RELEASE=$RESTIC_BACKUP_HELPER_RELEASE
