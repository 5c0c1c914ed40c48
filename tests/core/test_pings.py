"""Start, success and failure pings against a real HTTP server on loopback, in the protocols
of healthchecks.io, Uptime Kuma and Cronitor."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.core.conftest import output
from tests.support.receivers import free_port, http_receiver

CHECK = "/ping/6a1b8f9e-0000-4000-8000-00000000abcd"


def paths(receiver) -> list[tuple[str, str, dict]]:
    return [
        (request.method, urlsplit(request.path).path, parse_qs(urlsplit(request.path).query))
        for request in receiver.requests
    ]


def test_healthchecks_gets_start_then_success_with_the_log_tail_under_one_run_id(sandbox):
    with http_receiver() as receiver:
        completed = sandbox.helper("backup", HEALTHCHECK_URL=receiver.url(CHECK))
        _, end = receiver.wait_for(2)
    assert completed.returncode == 0, output(completed)
    (start_method, start_path, start_query), (end_method, end_path, end_query) = paths(receiver)
    assert (start_method, start_path) == ("GET", CHECK + "/start")
    assert (end_method, end_path) == ("POST", CHECK)
    assert start_query["rid"] == end_query["rid"]
    assert "✅ backup finished: ok (exit 0)" in end.body.decode()
    assert CHECK not in output(completed), "the ping URL is a secret"


def test_a_failure_pings_its_exit_code_and_a_job_has_its_own_url(sandbox):
    with http_receiver() as receiver:
        completed = sandbox.helper(
            "forget", RESTIC_PASSWORD="not-the-password", RESTIC_FORGET_ARGS="--keep-last 1",
            HEALTHCHECK_URL=receiver.url("/ping/for-backups-only"),
            HEALTHCHECK_URL_FORGET=receiver.url(CHECK),
        )  # fmt: skip
        receiver.wait_for(2)
    assert completed.returncode == 12
    assert [path for _, path, _ in paths(receiver)] == [CHECK + "/start", CHECK + "/12"]


@pytest.mark.parametrize(
    ("style", "ok_query", "fail_query"),
    [
        ("uptime-kuma", {"status": ["up"]}, {"status": ["down"]}),
        (
            "cronitor",
            {"state": ["complete"], "status_code": ["0"]},
            {"state": ["fail"], "status_code": ["12"]},
        ),
    ],
)
def test_uptime_kuma_and_cronitor_styles(sandbox, style, ok_query, fail_query):
    with http_receiver() as receiver:
        sandbox.helper("backup", HEALTHCHECK_URL=receiver.url("/api/push/token?x=1"), HEALTHCHECK_STYLE=style)
        sandbox.helper("backup", HEALTHCHECK_URL=receiver.url("/api/push/token?x=1"), HEALTHCHECK_STYLE=style,
                       RESTIC_PASSWORD="wrong")  # fmt: skip
        time.sleep(0.5)
    finals = [query for _, _, query in paths(receiver) if query.get("state") != ["run"]]
    assert len(finals) == 2, paths(receiver)
    for final, expected in zip(finals, (ok_query, fail_query), strict=True):
        assert final["x"] == ["1"], "the URL's own query is kept"
        assert {key: final[key] for key in expected} == expected
    starts = [query for _, _, query in paths(receiver) if query.get("state") == ["run"]]
    assert len(starts) == (2 if style == "cronitor" else 0), "Uptime Kuma has no start ping"


def test_an_unreachable_ping_is_a_bounded_warning_and_never_changes_the_exit_code(sandbox):
    started = time.monotonic()
    completed = sandbox.helper(
        "backup", HEALTHCHECK_URL=f"http://127.0.0.1:{free_port()}{CHECK}", HEALTHCHECK_RETRIES="1"
    )
    assert completed.returncode == 0, output(completed)
    assert time.monotonic() - started < 30
    assert "start ping failed: http://127.0.0.1/...: ConnectionError after 2 attempts" in output(completed)
    assert "final ping failed" in output(completed)


def test_a_ping_url_that_is_no_url_is_named_and_exits_2(sandbox):
    completed = sandbox.helper("backup", HEALTHCHECK_URL_FORGET="hc-ping.com/abc")
    assert completed.returncode == 2
    assert "HEALTHCHECK_URL_FORGET: expected an http:// or https:// URL with a host name" in output(completed)
    assert "hc-ping.com/abc" not in output(completed)
