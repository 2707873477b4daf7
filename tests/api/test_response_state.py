"""The state a Responses conversation carries, against the app's own database
(SQLite, or PostgreSQL in CI): what expand makes of a request before the
gateway call, what the Keeper seals, stores and hides on the way out, and the
deletion of expired responses."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import event, select

from lumyx.db import db
from lumyx.db.models import StoredResponse, StoredResponseItem
from lumyx.errors import ApiError
from lumyx.responses import store
from lumyx.responses.conversation import expand
from lumyx.responses.keeping import Keeper
from lumyx.responses.sealing import seal
from tests.support.stored_responses import DETAILS, expire, function_call, reasoning, response_of

LIMIT = 1_000_000


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield app


@pytest.fixture
def user_id(account):
    return account[0]


@pytest.fixture
def other_user(app):
    from lumyx.accounts import users as accounts

    with app.app_context():
        return accounts.create_user(f"other-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery").id


def keep(user_id: int, request: dict, response: dict) -> dict:
    """Passes a non-stream answer through a Keeper (inside an app context); the client's copy."""
    return Keeper(user_id, request).body(response)


def stored(response_id: str) -> StoredResponse | None:
    db.session.rollback()
    return db.session.get(StoredResponse, response_id)


def _refused(user_id: int, body: dict, max_bytes: int = LIMIT) -> ApiError:
    with pytest.raises(ApiError) as caught:
        expand(user_id, body, max_bytes=max_bytes)
    return caught.value


# -- the Keeper --------------------------------------------------------------------------------------


def test_a_body_is_sealed_stored_and_trimmed_for_the_client(ctx, user_id):
    response = response_of()
    request = {
        "model": "gpt-5.2",
        "input": [{"role": "user", "content": "Hi"}, {"id": "msg_mine", "role": "user", "content": "again"}],
    }
    client = keep(user_id, request, response)
    rs = client["output"][0]
    assert rs["type"] == "reasoning" and "encrypted_content" not in rs and "reasoning_details" not in rs
    assert rs["summary"] == [{"type": "summary_text", "text": "Thinking."}]
    assert client["store"] is True and client["previous_response_id"] is None
    assert "reasoning_details" in response["output"][0], "the gateway's copy is not changed"

    row = stored(response["id"])
    assert row.user_id == user_id and row.model_id == "gpt-5.2" and row.status == "completed"
    assert row.expires_at - row.created_at == timedelta(days=30)
    kept = orjson.loads(row.response)
    sealed = kept["output"][0]["encrypted_content"]
    assert sealed.startswith("lmx1.") and "reasoning_details" not in kept["output"][0]
    inputs = orjson.loads(row.input_items)
    assert inputs[0]["id"].startswith("msg_") and inputs[0]["type"] == "message"
    assert inputs[1]["id"] == "msg_mine"
    assert row.size_bytes == len(row.response) + len(row.input_items)
    indexed = db.session.scalars(select(StoredResponseItem.item_id).where(StoredResponseItem.response_id == row.id))
    assert sorted(indexed) == sorted(item["id"] for item in response["output"])


def test_a_client_that_includes_encrypted_content_gets_the_sealed_reasoning(ctx, user_id):
    response = response_of()
    client = keep(user_id, {"input": "Hi", "include": ["reasoning.encrypted_content"]}, response)
    assert client["output"][0]["encrypted_content"].startswith("lmx1.")
    assert (
        client["output"][0]["encrypted_content"]
        == orjson.loads(stored(response["id"]).response)["output"][0]["encrypted_content"]
    )


def test_store_false_stores_nothing_and_echoes_it(ctx, user_id):
    response = response_of()
    client = keep(user_id, {"input": "Hi", "store": False, "include": ["reasoning.encrypted_content"]}, response)
    assert stored(response["id"]) is None
    assert client["store"] is False and client["output"][0]["encrypted_content"].startswith("lmx1.")
    bare = keep(user_id, {"input": "Hi", "store": False}, response_of())
    assert set(bare["output"][0]) == {"id", "type", "summary"}


def test_every_finished_reasoning_item_can_come_back_without_being_stored(ctx, user_id):
    bare = {"id": "rs_bare", "type": "reasoning", "summary": []}
    foreign = {"id": "rs_up", "type": "reasoning", "summary": [], "encrypted_content": "gAAAAABupstream"}
    request = {"input": "Hi", "store": False, "include": ["reasoning.encrypted_content"]}
    client = keep(user_id, request, response_of([bare, foreign]))
    assert client["output"][1] == foreign, "an upstream's own encrypted content is passed as it is"
    sent_back = expand(user_id, {"input": client["output"]}, max_bytes=LIMIT)["input"]
    assert sent_back[0] == {"id": "rs_bare", "type": "reasoning", "summary": [], "reasoning_details": []}
    added = next(Keeper(user_id, request).events(iter([{"type": "response.output_item.added", "item": bare}])))
    assert added["item"] == bare, "an item still to come is not sealed yet"


def _stream_of(response: dict):
    """The events of a streamed answer, as the translators make them (abridged)."""
    rs, msg = response["output"]
    start = {**response, "status": "in_progress", "output": [], "usage": None}
    yield {"type": "response.created", "sequence_number": 0, "response": start}
    yield {"type": "response.in_progress", "sequence_number": 1, "response": start}
    yield {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
           "item": {**rs, "summary": [], "reasoning_details": []}}  # fmt: skip
    yield {"type": "response.output_item.done", "sequence_number": 3, "output_index": 0, "item": rs}
    yield {"type": "response.output_item.done", "sequence_number": 4, "output_index": 1, "item": msg}
    yield {"type": "response.completed", "sequence_number": 5, "response": response}


def test_a_stream_is_stored_before_its_terminal_event_reaches_the_client(app, user_id):
    response = response_of()
    with app.test_request_context():
        keeper = Keeper(user_id, {"input": "Hi", "previous_response_id": None})
    seen = []
    # Iterated outside any app context, as the WSGI server iterates a stream's body.
    for client_event in keeper.events(_stream_of(response)):
        with app.app_context():
            row = stored(response["id"])
        seen.append((client_event["type"], row is not None))
        for item in [client_event.get("item")] + (client_event.get("response") or {}).get("output", []):
            if item and item["type"] == "reasoning":
                assert "encrypted_content" not in item and "reasoning_details" not in item
        if "response" in client_event:
            assert client_event["response"]["store"] is True
    assert seen[-1] == ("response.completed", True)
    assert not any(was_stored for _, was_stored in seen[:-1])
    with app.app_context():
        kept = orjson.loads(stored(response["id"]).response)
    assert kept["output"][0]["encrypted_content"].startswith("lmx1.")


@pytest.mark.parametrize("terminal", ["response.incomplete", "response.failed"])
def test_incomplete_and_failed_streams_are_stored_too(app, user_id, terminal):
    response = response_of(status=terminal.split(".")[1])
    with app.test_request_context():
        keeper = Keeper(user_id, {"input": "Hi"})
    events = list(keeper.events(iter([{"type": terminal, "sequence_number": 0, "response": response}])))
    assert events[0]["type"] == terminal
    with app.app_context():
        assert stored(response["id"]).status == terminal.split(".")[1]


def test_closing_the_clients_stream_closes_the_gateways(ctx, user_id):
    closed = []

    def upstream():
        try:
            yield {"type": "response.created", "response": response_of()}
            yield {"type": "response.output_text.delta", "delta": "x"}
        finally:
            closed.append(True)

    stream = Keeper(user_id, {"input": "Hi"}).events(upstream())
    next(stream)
    stream.close()
    assert closed == [True]


def test_a_failure_to_store_is_logged_and_the_client_still_gets_its_answer(ctx, user_id, caplog):
    response = response_of()
    keep(user_id, {"input": "Hi"}, response)
    logger = logging.getLogger("lumyx.responses")
    logger.addHandler(caplog.handler)
    try:
        again = keep(user_id, {"input": "Hi"}, response)  # the same id: the insert fails
    finally:
        logger.removeHandler(caplog.handler)
    assert again["id"] == response["id"] and again["output"][1]["content"][0]["text"] == "Hello"
    assert any("storing response" in r.getMessage() and r.exc_info for r in caplog.records)


def test_an_output_item_id_stored_again_is_taken_over_by_the_later_response(ctx, user_id):
    first = response_of()
    second = response_of(output=[dict(first["output"][1], content=[{"type": "output_text", "text": "Later"}])])
    store.save(user_id, first, [], None)
    store.save(user_id, second, [], None)
    item_id = first["output"][1]["id"]
    assert store.items_by_id(user_id, [item_id])[item_id]["content"][0]["text"] == "Later"
    owner = db.session.scalars(select(StoredResponseItem.response_id).where(StoredResponseItem.item_id == item_id))
    assert list(owner) == [second["id"]]


# -- expand ------------------------------------------------------------------------------------------


def test_without_state_to_look_up_expand_asks_the_database_nothing(ctx, user_id):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        sealed = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": seal(DETAILS)}
        foreign = {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "gAAAAABupstream"}
        body = {"model": "m", "input": [{"role": "user", "content": "Hi"}, sealed, foreign], "instructions": "x"}
        expanded = expand(user_id, body, max_bytes=10)  # the size is checked only when state was added
        text = expand(user_id, {"model": "m", "input": "Hi"}, max_bytes=LIMIT)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert statements == []
    assert expanded["input"][1] == {"type": "reasoning", "id": "rs_1", "summary": [], "reasoning_details": DETAILS}
    assert expanded["input"][2] is foreign, "an upstream's own encrypted content is left alone"
    assert body["input"][1] is sealed and "encrypted_content" in sealed, "the client's body is not changed"
    assert text["input"] == [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]


def test_tampered_sealed_reasoning_is_refused(ctx, user_id):
    token = seal(DETAILS)
    item = {"type": "reasoning", "id": "rs_x", "summary": [], "encrypted_content": token[:-3] + "abc"}
    error = _refused(user_id, {"input": [item]})
    assert (error.status, error.code, error.param) == (400, "invalid_encrypted_content", "input")
    assert error.message == "The encrypted content for item rs_x could not be verified."


def test_a_chain_of_three_comes_first_oldest_first_without_its_instructions(ctx, user_id):
    first, second, third = response_of(text="one"), response_of(text="two"), response_of(text="three")
    keep(user_id, {"input": "1", "instructions": "Old."}, first)
    keep(user_id, {"input": "2", "previous_response_id": first["id"]}, second)
    client = keep(user_id, {"input": [{"role": "user", "content": "3"}], "previous_response_id": second["id"]}, third)
    assert client["previous_response_id"] == second["id"]
    assert stored(third["id"]).previous_response_id == second["id"]

    body = {"model": "m", "input": "4", "previous_response_id": third["id"], "instructions": "New."}
    expanded = expand(user_id, body, max_bytes=LIMIT)
    assert "previous_response_id" not in expanded and expanded["instructions"] == "New."
    kinds = [(item["type"], item.get("role")) for item in expanded["input"]]
    assert kinds == [("message", "user"), ("reasoning", None), ("message", "assistant")] * 3 + [("message", "user")]
    texts = [item["content"][0]["text"] for item in expanded["input"] if item["type"] == "message"]
    assert texts == ["1", "one", "2", "two", "3", "three", "4"]
    for item in expanded["input"]:
        if item["type"] == "reasoning":
            assert item["reasoning_details"] == DETAILS and "encrypted_content" not in item


def test_a_tool_output_finds_its_call_in_the_previous_response(ctx, user_id):
    hex_id = uuid.uuid4().hex
    turn = response_of([reasoning(hex_id, 0), function_call(hex_id, 1, "call_7")])
    keep(user_id, {"input": "Weather in Paris?"}, turn)
    output = {"type": "function_call_output", "call_id": "call_7", "output": "sunny"}
    expanded = expand(user_id, {"input": [output], "previous_response_id": turn["id"]}, max_bytes=LIMIT)
    assert [item["type"] for item in expanded["input"]] == ["message", "reasoning", "function_call",
                                                            "function_call_output"]  # fmt: skip
    assert expanded["input"][2]["call_id"] == "call_7"


def test_item_references_and_id_only_reasoning_are_the_stored_items(ctx, user_id):
    response = response_of()
    keep(user_id, {"input": "Hi"}, response)
    rs_id, msg_id = response["output"][0]["id"], response["output"][1]["id"]
    body = {
        "input": [
            {"role": "user", "content": "Hi"},
            {"type": "reasoning", "id": rs_id, "summary": [{"type": "summary_text", "text": "Thinking."}]},
            {"type": "item_reference", "id": msg_id},
            {"role": "user", "content": "And?"},
        ]
    }
    expanded = expand(user_id, body, max_bytes=LIMIT)
    assert expanded["input"][1]["id"] == rs_id and expanded["input"][1]["reasoning_details"] == DETAILS
    assert "encrypted_content" not in expanded["input"][1]
    assert expanded["input"][2] == response["output"][1]


def test_an_item_the_account_did_not_store_is_not_found(ctx, user_id, other_user):
    response = response_of()
    keep(other_user, {"input": "Hi"}, response)
    for item in ({"type": "item_reference", "id": response["output"][1]["id"]},
                 {"type": "reasoning", "id": response["output"][0]["id"], "summary": []},
                 {"type": "reasoning", "id": "rs_never", "summary": [], "encrypted_content": None}):  # fmt: skip
        error = _refused(user_id, {"input": [item]})
        assert (error.status, error.code, error.param) == (404, "not_found", "input")
        assert error.message == f"Item with id '{item['id']}' not found."


def test_another_accounts_or_an_unknown_previous_response_is_not_found(ctx, user_id, other_user):
    theirs = response_of()
    keep(other_user, {"input": "Hi"}, theirs)
    for response_id in (theirs["id"], "resp_missing", "x" * 300):
        error = _refused(user_id, {"input": "Hi", "previous_response_id": response_id})
        assert (error.status, error.code, error.param) == (400, "previous_response_not_found", "previous_response_id")
        assert error.message == f"Previous response with id '{response_id[:100]}' not found."


def test_an_expired_response_or_item_is_gone(ctx, user_id):
    old, new = response_of(), response_of()
    keep(user_id, {"input": "1"}, old)
    keep(user_id, {"input": "2", "previous_response_id": old["id"]}, new)
    expire(old["id"])
    assert _refused(user_id, {"previous_response_id": old["id"]}).code == "previous_response_not_found"
    chain = _refused(user_id, {"previous_response_id": new["id"]})
    assert chain.code == "previous_response_not_found" and old["id"] in chain.message, "a broken chain names the gap"
    assert _refused(user_id, {"input": [{"type": "item_reference", "id": old["output"][1]["id"]}]}).status == 404


def test_a_conversation_larger_than_the_body_limit_is_refused(ctx, user_id):
    big = response_of(text="x" * 5000)
    keep(user_id, {"input": "Hi"}, big)
    for body in ({"input": "more", "previous_response_id": big["id"]},
                 {"input": [{"type": "item_reference", "id": big["output"][1]["id"]}]}):  # fmt: skip
        error = _refused(user_id, body, max_bytes=4000)
        assert (error.status, error.code) == (413, "request_too_large")
        assert error.message == "The conversation of previous_response_id is larger than the request body limit."
    assert len(expand(user_id, {"previous_response_id": big["id"]}, max_bytes=20_000)["input"]) == 3


# -- retention ---------------------------------------------------------------------------------------


def test_expired_responses_are_deleted_with_their_items_in_batches(ctx, user_id):
    expired = [response_of() for _ in range(3)]
    alive = response_of()
    for response in [*expired, alive]:
        keep(user_id, {"input": "Hi"}, response)
    for response in expired:
        expire(response["id"])
    assert store.delete_expired(batch=2) >= 3
    for response in expired:
        assert stored(response["id"]) is None
        assert db.session.get(StoredResponseItem, (user_id, response["output"][1]["id"])) is None
    assert stored(alive["id"]) is not None
    assert db.session.get(StoredResponseItem, (user_id, alive["output"][1]["id"])) is not None
    assert store.delete_expired() == 0
