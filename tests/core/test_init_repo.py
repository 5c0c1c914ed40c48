"""/bin/init-repo: restic init only where the probe proves there is no repository."""

import pytest

from tests.core.conftest import output
from tests.core.test_restore import run_on_a_terminal


@pytest.fixture
def missing(sandbox, tmp_path):
    """The environment of a repository that does not exist yet, and its path."""
    path = tmp_path / "new-repo"
    return {"RESTIC_REPOSITORY": str(path)}, path


def test_an_existing_repository_is_refused_with_exit_3_and_a_dry_run_says_so(sandbox):
    refused = sandbox.helper("init-repo", "--yes")
    assert refused.returncode == 3, output(refused)
    document = sandbox.last_json("init-repo")
    assert (document["repo_existed"], document["probe_exit_code"], document["confirmed"]) == (True, 0, False)
    assert sandbox.helper("init-repo", "--dry-run").returncode == 0
    assert "would refuse" in (sandbox.log_dir / "init-repo-last.log").read_text()


def test_a_missing_repository_is_created_with_its_arguments(sandbox, missing):
    environment, path = missing
    dry = sandbox.helper("init-repo", "--dry-run", **environment)
    assert dry.returncode == 0 and not path.exists()
    assert "would run restic init" in output(dry)

    created = sandbox.helper(
        "init-repo", "--yes", "--", "--repository-version", "2", RESTIC_INIT_ARGS="--verbose", **environment
    )

    assert created.returncode == 0, output(created)
    assert (path / "config").is_file()
    document = sandbox.last_json("init-repo")
    assert (document["repo_existed"], document["probe_exit_code"], document["confirmed"]) == (False, 10, True)
    assert document["init_args"] == ["--verbose", "--repository-version", "2"]
    assert sandbox.restic("cat", "config", "--repo", str(path)).returncode == 0


def test_nothing_is_created_without_a_terminal_or_yes(sandbox, missing):
    environment, path = missing
    completed = sandbox.helper("init-repo", **environment)
    assert completed.returncode == 2 and "needs --yes" in output(completed)
    assert not path.exists()


def test_the_operator_types_init_at_the_terminal(sandbox, missing):
    environment, path = missing
    sandbox.env.update(environment)
    prompt = "type init to create the repository:"
    code, screen = run_on_a_terminal(sandbox, ["init-repo"], [(prompt, "yes")])
    assert (code, path.exists()) == (0, False), screen
    assert sandbox.last_json("init-repo")["confirmed"] is False

    code, screen = run_on_a_terminal(
        sandbox, ["init-repo"], [("type init to create the repository:", "init")]
    )
    assert (code, (path / "config").is_file()) == (0, True), screen


def test_a_wrong_password_never_looks_like_a_missing_repository(sandbox):
    completed = sandbox.helper("init-repo", "--yes", RESTIC_PASSWORD="not-the-password")
    assert completed.returncode == 2 and "RESTIC_PASSWORD: wrong password" in output(completed)
    assert sandbox.last_json("init-repo")["probe_exit_code"] == 12


def test_an_unreachable_repository_is_bounded_by_the_probe_timeout_and_never_initialised(sandbox):
    from tests.support.receivers import free_port

    completed = sandbox.helper(
        "init-repo",
        "--yes",
        RESTIC_REPOSITORY=f"rest:http://127.0.0.1:{free_port()}/repo/",
        PROBE_TIMEOUT="3s",
    )
    assert completed.returncode == 2, output(completed)
    assert "did not answer within PROBE_TIMEOUT (3s)" in output(completed)
    document = sandbox.last_json("init-repo")
    assert (document["probe_exit_code"], document["repo_existed"], document["duration_seconds"] < 30) == (
        124,
        None,
        True,
    )
