# One node of a multi-node Docker Swarm on one machine: Debian's Docker engine in a container.
# Only the node-loss scenario uses it (tests/chaos/swarm_nodes.py).
FROM debian:trixie-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        docker.io docker-cli iptables iproute2 procps ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY swarm-node-start.sh /usr/local/bin/start-node
# The node's images and containers, on a volume: overlay2 cannot stack on the engine's own
# overlay filesystem.
VOLUME /var/lib/docker
ENTRYPOINT ["sh", "/usr/local/bin/start-node"]
