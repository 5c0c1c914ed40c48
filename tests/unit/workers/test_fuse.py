"""The FUSE pre-flight of mount-snapshot, from the facts a container shows."""

from helper.workers.fuse import problems

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
