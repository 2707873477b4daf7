"""Sealed reasoning (lumyx.responses.sealing), the item shapes stored responses
keep (lumyx.responses.items) and the retention setting."""

from __future__ import annotations

import pytest

from lumyx import config
from lumyx.errors import ApiError
from lumyx.responses import items
from lumyx.responses.sealing import PREFIX, is_sealed, open_sealed, seal

SECRET = "unit-secret"
DETAILS = [
    {"type": "reasoning.text", "text": "Paris is the capital.", "signature": "sig-abc"},
    {"type": "reasoning.encrypted", "data": "opaque=="},
]


def test_sealed_details_open_to_the_same_details():
    token = seal(DETAILS, secret=SECRET)
    assert token.startswith(PREFIX) and is_sealed(token)
    assert open_sealed(token, item_id="rs_1", secret=SECRET) == DETAILS
    assert seal(DETAILS, secret=SECRET) == token, "the same details seal alike (stream and stored copies agree)"
    assert open_sealed(seal([], secret=SECRET), secret=SECRET) == []


def _refused(token: str, secret: str = SECRET) -> ApiError:
    with pytest.raises(ApiError) as caught:
        open_sealed(token, item_id="rs_9", secret=secret)
    return caught.value


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # the signature
        lambda t: t[: len(PREFIX)] + "x" + t[len(PREFIX) + 1 :],  # the payload
        lambda t: t + "x",
        lambda t: PREFIX,
        lambda t: "gAAAAABforeign",  # not Lumyx's at all
    ],
)
def test_changed_content_is_refused_as_openai_refuses_it(tamper):
    error = _refused(tamper(seal(DETAILS, secret=SECRET)))
    assert (error.status, error.code, error.param) == (400, "invalid_encrypted_content", "input")
    assert error.message == "The encrypted content for item rs_9 could not be verified."


def test_content_sealed_by_another_installation_is_refused():
    assert _refused(seal(DETAILS, secret="another-secret")).code == "invalid_encrypted_content"


def test_a_signed_payload_that_is_not_a_detail_list_is_refused():
    from itsdangerous import URLSafeSerializer

    from lumyx.responses.sealing import SALT

    forged = PREFIX + URLSafeSerializer(SECRET, salt=SALT).dumps({"d": "not a list"})
    assert _refused(forged).code == "invalid_encrypted_content"


def test_input_as_a_list_of_items():
    assert items.input_list("Hi") == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
    ]
    given = [{"role": "user", "content": "x"}]
    assert items.input_list(given) == given and items.input_list(given) is not given
    assert items.input_list(None) == []


def test_stored_input_items_get_ids_and_full_messages_the_clients_ids_kept():
    stored = items.with_ids(
        [
            {"role": "user", "content": "Weather?"},
            {"id": "msg_client", "type": "message", "role": "assistant", "content": "Sunny"},
            {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
            {"type": "item_reference", "id": "rs_1"},
        ]
    )
    assert stored[0]["id"].startswith("msg_") and len(stored[0]["id"]) == 36
    assert stored[0]["type"] == "message" and stored[0]["content"] == [{"type": "input_text", "text": "Weather?"}]
    assert stored[1]["id"] == "msg_client"
    assert stored[1]["content"] == [{"type": "output_text", "text": "Sunny", "annotations": []}]
    assert stored[2]["id"].startswith("fc_")
    assert stored[3] == {"type": "item_reference", "id": "rs_1"}


def test_the_client_sees_encrypted_content_only_when_it_asked():
    response = {"id": "resp_1", "output": [{"type": "reasoning", "id": "rs_1", "encrypted_content": "e"}]}
    assert items.for_client(response, True) is response
    trimmed = items.for_client(response, False)
    assert trimmed["output"] == [{"type": "reasoning", "id": "rs_1"}]
    assert response["output"][0]["encrypted_content"] == "e", "the stored copy is not changed"


@pytest.mark.parametrize("raw,days", [(None, 30), ("", 30), ("7", 7), (" 90 ", 90)])
def test_the_retention_setting(monkeypatch, raw, days):
    monkeypatch.setenv("SECRET_KEY", "x")
    if raw is None:
        monkeypatch.delenv("LUMYX_RESPONSES_RETENTION_DAYS", raising=False)
    else:
        monkeypatch.setenv("LUMYX_RESPONSES_RETENTION_DAYS", raw)
    assert config.from_environment()["LUMYX_RESPONSES_RETENTION_DAYS"] == days


@pytest.mark.parametrize("raw", ["0", "-3", "thirty", "1.5"])
def test_a_retention_that_is_not_a_positive_whole_number_stops_the_server(monkeypatch, raw):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("LUMYX_RESPONSES_RETENTION_DAYS", raw)
    with pytest.raises(SystemExit, match="LUMYX_RESPONSES_RETENTION_DAYS"):
        config.from_environment()
