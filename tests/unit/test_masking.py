"""The one Masker: secret values, URL credentials and query-string secrets."""

import pytest

from helper import settings
from helper.masking import MASK, Masker


def test_secret_values_are_hidden_wherever_they_appear():
    masker = Masker.from_secrets(["s3cr3t-value", "hunter2-long"])
    assert masker.mask("password=s3cr3t-value and again:s3cr3t-value.") == "password=*** and again:***."
    assert masker.mask("hunter2-long") == MASK


def test_a_secret_containing_another_is_hidden_whole():
    masker = Masker.from_secrets(["abcd", "abcdefgh"])
    assert masker.mask("key abcdefgh") == "key ***"


def test_very_short_values_are_not_treated_as_secrets():
    # A one-character password would otherwise blank every "a" in the logs.
    masker = Masker.from_secrets(["a", "", "xyz"])
    assert masker.mask("a backup of xyz") == "a backup of xyz"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rest:http://user:pass@host:8000/repo", "rest:http://user:***@host:8000/repo"),
        ("rest:https://user:p@ss@host/", "rest:https://user:***@host/"),
        ("rest:https://user:p:a@s:s@host/x", "rest:https://user:***@host/x"),
        ("rest:http://user:p%40ss%3A@127.0.0.1:1/", "rest:http://user:***@127.0.0.1:1/"),
        ("sftp://backup@nas/srv/repo", "sftp://backup@nas/srv/repo"),
        ('Head "http://alice:secret@h/config": refused', 'Head "http://alice:***@h/config": refused'),
        ("two: http://a:b1@x/ and https://c:d2@y/", "two: http://a:***@x/ and https://c:***@y/"),
    ],
)
def test_url_credentials_are_hidden_even_with_at_signs_and_colons(text, expected):
    assert Masker().mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://h/hook?token=abc123&x=1", "https://h/hook?token=***&x=1"),
        ("https://h/p?api_key=k&sig=s#frag", "https://h/p?api_key=***&sig=***#frag"),
        (
            "s3:https://h/b?X-Amz-Credential=AKIA&X-Amz-Signature=ff",
            "s3:https://h/b?X-Amz-Credential=***&X-Amz-Signature=***",
        ),
        ("https://h/p?page=2&password=pw", "https://h/p?page=2&password=***"),
        ("https://h/p?page=2", "https://h/p?page=2"),
    ],
)
def test_secrets_in_query_strings_are_hidden(text, expected):
    assert Masker().mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":webdav,url='http://h:1',user=u,pass=Zx9-_q:dst", ":webdav,url='http://h:1',user=u,pass=***:dst"),
        ("remote,password='a b,c:d',key_file=/k:path", "remote,password=***,key_file=***:path"),
        (':s3,secret_access_key="s:3",region=eu:bucket', ":s3,secret_access_key=***,region=eu:bucket"),
        ('Failed to copy ":sftp,host=h,pass=AbC:x": no', 'Failed to copy ":sftp,host=h,pass=***:x": no'),
        ("/data/a,b=c;remote:path", "/data/a,b=c;remote:path"),
    ],
)
def test_secret_parameters_of_rclone_connection_strings_are_hidden(text, expected):
    assert Masker().mask(text) == expected


def test_mask_data_masks_every_string_and_keeps_types():
    masker = Masker.from_secrets(["topsecret"])
    data = {"a": "x topsecret", "n": 3, "b": True, "none": None, "list": ["topsecret", 1.5]}
    assert masker.mask_data(data) == {"a": "x ***", "n": 3, "b": True, "none": None, "list": ["***", 1.5]}


def test_the_masker_built_from_settings_knows_every_secret_setting():
    secret_names = [setting.name for setting in settings.SETTINGS if setting.secret]
    # The issue names these; the table may add more, never fewer.
    assert {
        "RESTIC_PASSWORD",
        "SMTP_PASSWORD",
        "WEBHOOK_HEADER_AUTH",
        "WEBHOOK_URL",
        "AWS_SECRET_ACCESS_KEY",
        "B2_ACCOUNT_KEY",
        "AZURE_ACCOUNT_KEY",
        "OS_PASSWORD",
        "RESTIC_REST_PASSWORD",
    } <= set(secret_names)
    environment = {name: f"value-of-{name}" for name in secret_names}
    loaded, _ = settings.load({**environment, "RESTIC_REPOSITORY": "/r"})
    masker = Masker.from_secrets(loaded.secrets)
    text = " ".join(environment.values())
    assert masker.mask(text) == " ".join([MASK] * len(secret_names))


def test_undecodable_bytes_are_spelled_out_so_every_sink_can_write_them():
    masker = Masker.from_secrets(["secret-caf\udce9"])
    assert masker.mask("dir /srv/caf\udce9 on h\udcff") == "dir /srv/caf\\xe9 on h\\xff"
    assert masker.mask("key secret-caf\udce9") == "key ***"  # masked before it is spelled out
    assert masker.mask("lone \ud800") == "lone \\ud800"
    masker.mask("x\udcff\ud800").encode("utf-8")


def test_a_webhook_url_is_shown_as_scheme_and_host_only():
    masker = Masker.from_secrets([])
    assert (
        masker.mask_url_path("https://hooks.slack.com/services/T0/B1/secret") == "https://hooks.slack.com/..."
    )
    assert masker.mask_url_path("https://user:pw@example.com:8443/x?token=1") == "https://example.com/..."
    assert masker.mask_url_path("not a url") == "***"
    assert masker.mask_url_path("http://[::1") == "***"
