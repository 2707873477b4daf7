"""GET and DELETE /responses/{id} and GET /responses/{id}/input_items, driven by
the official openai SDK against the live server, on responses stored as the
gateway stores them (through the Keeper, in this process, on the same database)."""

from __future__ import annotations

import uuid

import openai
import pytest

from lumyx.errors import ApiError
from lumyx.responses.conversation import expand
from lumyx.responses.keeping import Keeper
from tests.support.stored_responses import expire, message, response_of

pytestmark = pytest.mark.live


@pytest.fixture
def keep(app, account):
    """Stores a response of the test account as the gateway would; returns it as stored."""

    def store(request: dict | None = None, response: dict | None = None, user_id: int | None = None) -> dict:
        response = response or response_of()
        with app.test_request_context():
            Keeper(user_id or account[0], request or {"input": "Hi"}).body(response)
        return response

    return store


@pytest.fixture
def other_user(app):
    from lumyx.accounts import users as accounts

    with app.app_context():
        return accounts.create_user(f"other-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery").id


def test_retrieve_gives_the_stored_response(openai_client, keep):
    stored = keep({"input": "Hi", "instructions": "Be brief."})
    response = openai_client.responses.retrieve(stored["id"])
    assert response.id == stored["id"] and response.status == "completed" and response.model == "gpt-5.2"
    assert response.output_text == "Hello"
    assert response.usage.total_tokens == 8 and response.store is True
    reasoning = response.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content is None
    assert reasoning.summary[0].text == "Thinking."
    assert "reasoning_details" not in response.model_dump()["output"][0]


def test_retrieve_with_include_gives_the_sealed_reasoning(openai_client, keep):
    stored = keep()
    response = openai_client.responses.retrieve(stored["id"], include=["reasoning.encrypted_content"])
    assert response.output[0].encrypted_content.startswith("lmx1.")


def test_an_unknown_another_accounts_or_an_expired_response_is_not_found(openai_client, keep, other_user, app, api):
    theirs = keep(user_id=other_user)
    old = keep()
    with app.app_context():
        expire(old["id"])
    for response_id in ("resp_missing", theirs["id"], old["id"]):
        for call in (
            openai_client.responses.retrieve,
            openai_client.responses.delete,
            openai_client.responses.input_items.list,
        ):
            with pytest.raises(openai.NotFoundError) as caught:
                call(response_id)
            assert caught.value.body["message"] == f"Response with id '{response_id}' not found."
    body = api("GET", "/v1/responses/resp_missing").json()
    assert body == {
        "error": {
            "message": "Response with id 'resp_missing' not found.",
            "type": "not_found",
            "code": 404,
            "param": "response_id",
        }
    }


def test_delete_removes_it_and_its_items(openai_client, keep, api, app, account):
    stored = keep()
    answer = api("DELETE", f"/api/v1/responses/{stored['id']}")
    assert answer.status_code == 200
    assert answer.json() == {"id": stored["id"], "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(stored["id"])
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.delete(stored["id"])
    reference = {"type": "item_reference", "id": stored["output"][1]["id"]}
    with app.test_request_context(), pytest.raises(ApiError, match="not found"):
        expand(account[0], {"input": [reference]}, max_bytes=10**6)

    again = keep()
    assert openai_client.responses.delete(again["id"]) is None  # the SDK's answer to a delete


def test_an_item_id_an_upstream_repeats_is_taken_over_by_the_later_response(openai_client, keep, app, account):
    first = keep()
    repeated = message("again", 1, "Later")
    repeated["id"] = first["output"][1]["id"]
    second = keep(response=response_of([repeated]))
    assert openai_client.responses.retrieve(second["id"]).output_text == "Later"
    assert openai_client.responses.retrieve(first["id"]).output_text == "Hello", "the first is kept whole"
    reference = {"type": "item_reference", "id": repeated["id"]}
    with app.test_request_context():
        expanded = expand(account[0], {"input": [reference]}, max_bytes=10**6)
    assert expanded["input"][0]["content"][0]["text"] == "Later"


def test_a_response_id_stored_already_keeps_the_first_and_is_logged(openai_client, keep, caplog):
    first = keep()
    again = response_of(text="Other")
    again["id"] = first["id"]
    keep(response=again)
    assert openai_client.responses.retrieve(first["id"]).output_text == "Hello"
    assert f"storing response {first['id']} failed" in caplog.text


def test_input_items_pages_through_the_clients_items(openai_client, keep):
    items = [{"role": "user", "content": f"Question {i}"} for i in range(5)]
    items[2]["id"] = "msg_clients_own"
    items.insert(3, {"type": "function_call_output", "call_id": "call_1", "output": "42"})
    stored = keep({"input": items})

    newest_first = openai_client.responses.input_items.list(stored["id"])
    assert newest_first.has_more is False and newest_first.object == "list"
    ids = [item.id for item in newest_first.data]
    assert len(ids) == 6 and len(set(ids)) == 6 and ids[3] == "msg_clients_own"
    assert newest_first.first_id == ids[0] and newest_first.last_id == ids[-1]
    assert newest_first.data[0].type == "message" and newest_first.data[0].content[0].text == "Question 4"
    assert newest_first.data[2].type == "function_call_output" and newest_first.data[2].id.startswith("fc_")

    oldest_first = openai_client.responses.input_items.list(stored["id"], order="asc", limit=4)
    assert [item.id for item in oldest_first.data] == ids[::-1][:4] and oldest_first.has_more is True
    after = openai_client.responses.input_items.list(stored["id"], order="asc", limit=4, after=oldest_first.last_id)
    assert [item.id for item in after.data] == ids[::-1][4:] and after.has_more is False
    paged = openai_client.responses.input_items.list(stored["id"], limit=2)
    assert [item.id for item in paged] == ids, "the SDK's auto-paging follows 'after'"


def test_input_items_refuses_bad_parameters_naming_them(keep, api):
    stored = keep()
    url = f"/v1/responses/{stored['id']}/input_items"
    for query, param in (
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("order=up", "order"),
        ("after=msg_nowhere", "after"),
        ("include[]=everything", "include"),
    ):
        answer = api("GET", f"{url}?{query}")
        assert answer.status_code == 400, query
        assert answer.json()["error"]["param"] == param and answer.json()["error"]["type"] == "invalid_request"
    assert api("GET", f"/v1/responses/{stored['id']}?include=nothing").json()["error"]["param"] == "include"


def test_stored_responses_need_a_key(live, keep):
    import requests

    stored = keep()
    answer = requests.get(f"{live.url}/v1/responses/{stored['id']}", timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["type"] == "unauthorized"
