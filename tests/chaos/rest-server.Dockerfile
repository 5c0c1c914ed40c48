# The shared repository of the fault campaign: Debian's restic-rest-server, nothing else.
FROM debian:trixie-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends restic-rest-server \
    && rm -rf /var/lib/apt/lists/*
EXPOSE 8000
ENTRYPOINT ["restic-rest-server", "--no-auth", "--listen", ":8000", "--path", "/data"]
