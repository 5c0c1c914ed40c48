"""Which mount holds a path, and whether what is written there outlives the container, from
mountinfo texts as Docker containers and hosts show them."""

from helper import mounts

# A container on Docker's overlay2 driver: a named volume on /mnt/restic, a bind mount on
# /data, a tmpfs on /scratch, and two mounts stacked on /stacked (the later one is on top).
CONTAINER = (
    "501 400 0:61 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u\n"
    "502 501 0:64 / /proc rw,nosuid - proc proc rw\n"
    "510 501 8:1 /var/lib/docker/volumes/repo/_data /mnt/restic rw,relatime - ext4 /dev/sda1 rw\n"
    "511 501 8:1 /home/me/data /data rw,relatime - ext4 /dev/sda1 rw\n"
    "512 501 0:70 / /scratch rw,nosuid - tmpfs tmpfs rw\n"
    "513 501 0:71 / /stacked rw - tmpfs tmpfs rw\n"
    "514 513 8:1 /v /stacked rw shared:9 - ext4 /dev/sda1 rw\n"
    "515 501 0:72 / /restore/my\\040mount rw,nosuid - fuse restic rw,user_id=0\n"
)


def test_mount_points_and_sources_undo_the_kernels_escapes():
    parsed = mounts.parse(CONTAINER + "91 22 0:56 / /tab\\011and\\134slash rw - tmpfs my\\040fs rw\n")
    assert [mount.point for mount in parsed][-2:] == ["/restore/my mount", "/tab\tand\\slash"]
    assert (parsed[-1].filesystem, parsed[-1].source) == ("tmpfs", "my fs")


def test_the_longest_mount_point_holds_a_path_and_the_top_of_a_stack_wins():
    parsed = mounts.parse(CONTAINER)
    assert mounts.holding("/mnt/restic/data/00", parsed).point == "/mnt/restic"
    assert mounts.holding("/mnt/resticky", parsed).point == "/"
    assert mounts.holding("/stacked/x", parsed).filesystem == "ext4"


def test_a_repository_on_a_volume_or_bind_mount_outlives_the_container():
    parsed = mounts.parse(CONTAINER)
    assert mounts.ephemeral_storage("/mnt/restic", parsed) is None
    assert mounts.ephemeral_storage("/data/repo", parsed) is None


def test_the_writable_layer_and_memory_do_not():
    parsed = mounts.parse(CONTAINER)
    assert "writable layer" in mounts.ephemeral_storage("/srv/repo", parsed)
    assert "tmpfs" in mounts.ephemeral_storage("/scratch/repo", parsed)


def test_rootless_dockers_fuse_overlayfs_is_a_container_layer_too():
    rootless = mounts.parse(
        "74 49 0:40 / / rw,nodev,noatime master:2 - fuse.fuse-overlayfs fuse-overlayfs rw,user_id=0\n"
    )
    assert "writable layer" in mounts.ephemeral_storage("/mnt/restic", rootless)


def test_a_machines_own_root_filesystem_is_no_container_layer():
    host = mounts.parse("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
    assert mounts.ephemeral_storage("/srv/repo", host) is None


def test_the_capability_to_mount():
    assert mounts.may_mount("Name:\tpython3\nCapEff:\t000001ffffffffff\n")
    assert not mounts.may_mount("NoNewPrivs:\t0\nCapEff:\t00000000a80425fb\n")
