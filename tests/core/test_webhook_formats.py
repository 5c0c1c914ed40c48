"""WEBHOOK_FORMAT: each chat or push service gets the message its API documents, checked field
by field against those documents, from real runs posted to a real HTTP server on loopback; and
a log tail full of quotes, backslashes and line breaks never breaks the JSON."""

import json
from urllib.parse import urlsplit

import pytest

from tests.core.conftest import output
from tests.support.receivers import http_receiver

# Printed by the pre-hook into the log tail that every message quotes.
HOSTILE = 'said "hi" \\\\ back\\\\slash {"json": 1} ünïcödé </pre><b>'


def posted(sandbox, style: str, path: str = "/hook", **overrides) -> tuple[object, dict]:
    sandbox.hook("pre-backup.sh", f"echo '{HOSTILE}'\n")
    with http_receiver() as receiver:
        completed = sandbox.helper(
            "backup", WEBHOOK_URL=receiver.url(path), WEBHOOK_FORMAT=style, **overrides
        )
        [request] = receiver.wait_for(1)
    assert "webhook reporter failed" not in output(completed), output(completed)
    return request, json.loads(request.body)


def test_slack_blocks_within_the_block_kit_limits(sandbox):
    # api.slack.com/reference/block-kit/blocks: header text ≤ 150, section fields ≤ 10 of ≤ 2000,
    # section text ≤ 3000.
    _, body = posted(sandbox, "slack")
    assert body["text"].startswith("[OK] Backup ")
    header, facts, tail = body["blocks"]
    assert header["type"] == "header" and len(header["text"]["text"]) <= 150
    assert 1 <= len(facts["fields"]) <= 10 and all(len(field["text"]) <= 2000 for field in facts["fields"])
    assert "*Snapshot*" in json.dumps(facts)
    assert len(tail["text"]["text"]) <= 3000 and "ünïcödé" in tail["text"]["text"]


def test_discord_embed_within_the_documented_limits(sandbox):
    # discord.com/developers/docs/resources/webhook and .../message#embed-object-embed-limits:
    # content ≤ 2000, title ≤ 256, description ≤ 4096, ≤ 25 fields, name ≤ 256, value ≤ 1024.
    _, body = posted(sandbox, "discord", RESTIC_PASSWORD="not-the-password")
    [embed] = body["embeds"]
    assert len(body["content"]) <= 2000 and len(embed["title"]) <= 256
    assert len(embed["description"]) <= 4096 and HOSTILE.replace("\\\\", "\\") in embed["description"]
    assert len(embed["fields"]) <= 25
    assert all(len(field["name"]) <= 256 and 0 < len(field["value"]) <= 1024 for field in embed["fields"])
    assert embed["color"] == 0xE01E5A, "a failure is red"
    assert {field["name"]: field["value"] for field in embed["fields"]}["Status"] == "failed (exit 12)"


def test_teams_gets_an_adaptive_card(sandbox):
    # learn.microsoft.com, "Create and send messages" (Workflows webhooks): a message whose
    # attachment has contentType application/vnd.microsoft.card.adaptive and an AdaptiveCard.
    _, body = posted(sandbox, "teams")
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, facts, tail = card["body"]
    assert title["color"] == "Good" and facts["type"] == "FactSet" and tail["fontType"] == "Monospace"
    assert all(set(fact) == {"title", "value"} for fact in facts["facts"])


def test_ntfy_json_publishing_goes_to_the_root_with_the_topic(sandbox):
    # docs.ntfy.sh/publish/#publish-as-json: POST to the root URL; topic, title, message,
    # priority 1-5, tags; a message of at most 4096 bytes.
    request, body = posted(sandbox, "ntfy", path="/backups-nas")
    assert urlsplit(request.path).path == "/"
    assert body["topic"] == "backups-nas" and body["priority"] == 3 and body["tags"] == ["white_check_mark"]
    assert len(body["message"].encode()) <= 4096 and body["title"].startswith("[OK] Backup ")


def test_gotify_message(sandbox):
    # gotify.net/api-docs, POST /message: title, message, priority; extras client::display.
    request, body = posted(sandbox, "gotify", path="/message?token=app-token")
    assert urlsplit(request.path).query == "token=app-token"
    assert set(body) == {"title", "message", "priority", "extras"} and body["priority"] == 5
    assert body["extras"]["client::display"]["contentType"] == "text/markdown"


def test_matrix_room_message_is_put_with_a_transaction_id(sandbox):
    # spec.matrix.org, client-server API: PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId},
    # m.text with body, and format org.matrix.custom.html with formatted_body.
    room = "/_matrix/client/v3/rooms/!abc:example.org/send/m.room.message"
    request, body = posted(sandbox, "matrix", path=room)
    assert request.method == "PUT"
    prefix, transaction = urlsplit(request.path).path.rsplit("/", 1)
    assert prefix == room and len(transaction) == 32
    assert (body["msgtype"], body["format"]) == ("m.text", "org.matrix.custom.html")
    assert "&lt;/pre&gt;&lt;b&gt;" in body["formatted_body"], "the tail is escaped in HTML"


def test_an_unknown_format_is_named_and_exits_2(sandbox):
    completed = sandbox.helper("backup", WEBHOOK_URL="https://hooks.example.com/x", WEBHOOK_FORMAT="telegram")
    assert completed.returncode == 2
    assert "WEBHOOK_FORMAT: expected one of json, slack, discord, teams, ntfy, gotify, matrix" in output(
        completed
    )


@pytest.mark.parametrize("style", ["slack", "discord"])
def test_a_users_template_still_wins(sandbox, style):
    (sandbox.root / "templates").mkdir(exist_ok=True)
    (sandbox.root / "templates" / "webhook.json.j2").write_text('{"mine": {{ result.job | tojson }}}')
    _, body = posted(sandbox, style, TEMPLATES_DIR=str(sandbox.root / "templates"))
    assert body == {"mine": "backup"}
