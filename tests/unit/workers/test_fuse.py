"""The FUSE pre-flight of mount-snapshot, from the facts a container shows."""

from helper.workers.fuse import mount_points, problems

ROOT_IN_A_PRIVILEGED_CONTAINER = "Name:\tpython3\nNoNewPrivs:\t0\nCapEff:\t000001ffffffffff\n"
DOCKERS_DEFAULT = "NoNewPrivs:\t0\nCapEff:\t00000000a80425fb\n"  # no CAP_SYS_ADMIN (bit 21)


def test_a_container_given_the_device_and_the_capability_may_mount():
    assert problems(True, "/usr/bin/fusermount3", ROOT_IN_A_PRIVILEGED_CONTAINER, "unconfined") == []


def test_each_missing_piece_names_what_to_add():
    found = problems(
        False, None, DOCKERS_DEFAULT.replace("NoNewPrivs:\t0", "NoNewPrivs:\t1"), "docker-default (enforce)"
    )
    assert [problem.split(":")[0] for problem in found] == [
        "/dev/fuse is missing or not readable and writable",
        "fusermount is not installed (the image has it",
        "the container lacks CAP_SYS_ADMIN",
        "no_new_privileges is set, which stops fusermount",
        "AppArmor profile docker-default is enforced",
    ]
    assert "--device /dev/fuse" in found[0] and "--cap-add SYS_ADMIN" in found[2]


def test_mount_points_undo_the_kernels_escapes():
    mountinfo = (
        "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "90 22 0:55 / /restore/my\\040mount rw,nosuid - fuse restic rw,user_id=0\n"
        "91 22 0:56 / /tab\\011and\\134slash rw - tmpfs tmpfs rw\n"
    )
    assert mount_points(mountinfo) == ["/", "/restore/my mount", "/tab\tand\\slash"]
