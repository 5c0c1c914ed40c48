#!/bin/sh
# A container's cgroup file systems arrive read-only; the node's engine must create cgroups
# for its own containers, so mount this container's view of them again, writable.
set -eu
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    umount /sys/fs/cgroup
    mount -t cgroup2 -o rw,nsdelegate cgroup2 /sys/fs/cgroup
    # cgroup v2 enables controllers for children only of a cgroup without processes.
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || true
    sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control
else
    for mountpoint in $(awk '$3 == "cgroup" {print $2}' /proc/self/mounts); do
        options=$(awk -v m="$mountpoint" '$2 == m {print $4}' /proc/self/mounts \
            | tr ',' '\n' | grep -vx 'ro\|rw' | paste -sd, -)
        umount "$mountpoint"
        mount -t cgroup -o "rw,$options" cgroup "$mountpoint"
    done
fi
exec dockerd --host unix:///var/run/docker.sock
