"""Endpoint behaviour of the fake: validation with Braze's 400 messages, and plausible answers.

Each handler takes the app and the decoded request and returns ``(status, JSON payload)``; an
unknown path answers a non-JSON 404 page, as a real proxy in front of Braze would.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobframe.braze.fake.app import FakeBraze

__all__ = ["campaign", "route"]

Answer = tuple[int, Any]
MAX_IDS = "The max number of external_ids and aliases per request was exceeded"
MAX_INPUT = "Max Input Length Exceeded"
USER_KEYS = ("external_id", "user_alias", "braze_id", "email", "phone")
RECIPIENT_KEYS = ("external_user_id", "user_alias", "email")
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
PAUSED_NOTICE = "The Canvas is paused. Resume the Canvas to ensure trigger requests will take effect."


def campaign(index: int, *, archived: bool = False) -> dict[str, Any]:
    """A seeded campaign: list entry and details in one dict."""
    edited = (_EPOCH - timedelta(hours=index)).isoformat()
    return {
        "id": f"campaign-{index:05d}",
        "name": f"Campaign {index}",
        "last_edited": edited,
        "is_api_campaign": True,
        "tags": ["seeded"],
        "archived": archived,
        "created_at": edited,
        "updated_at": edited,
        "channels": ["ios_push"],
    }


def _bad(message: str) -> Answer:
    return 400, {"message": message}


def _dispatch() -> dict[str, Any]:
    return {"dispatch_id": secrets.token_hex(16), "message": "success"}


def _messages_send(app: FakeBraze, body: dict[str, Any]) -> Answer:
    listed = len(body.get("external_user_ids") or []) + len(body.get("user_aliases") or [])
    if listed > app.recipients_per_request:
        return _bad(MAX_IDS)
    if body.get("broadcast") and listed:
        return _bad("'broadcast' cannot be true when a recipient list is given")
    if not (listed or body.get("broadcast") or body.get("segment_id") or body.get("audience")):
        return _bad("Either external_user_ids, user_aliases, segment_id, audience or broadcast is required")
    if not isinstance(body.get("messages"), dict):
        return _bad("'messages' is required")
    return 201, _dispatch()


def _recipients_error(app: FakeBraze, body: dict[str, Any]) -> str | None:
    recipients = body.get("recipients")
    if recipients is None:
        return None if body.get("broadcast") or body.get("audience") else "'recipients' is required"
    if len(recipients) > app.recipients_per_request:
        return MAX_INPUT
    for r in recipients:
        if sum(1 for key in RECIPIENT_KEYS if key in r) != 1:
            return "each recipient needs exactly one of external_user_id, user_alias, email"
    return None


def _campaign_trigger(app: FakeBraze, body: dict[str, Any]) -> Answer:
    if not body.get("campaign_id"):
        return _bad("'campaign_id' is required")
    error = _recipients_error(app, body)
    return _bad(error) if error else (201, _dispatch())


def _canvas_trigger(app: FakeBraze, body: dict[str, Any]) -> Answer:
    if not body.get("canvas_id"):
        return _bad("'canvas_id' is required")
    error = _recipients_error(app, body)
    if error:
        return _bad(error)
    answer = _dispatch()
    if body["canvas_id"] in app.paused_canvases:
        answer["notice"] = PAUSED_NOTICE
    return 201, answer


def _object_error(array: str, obj: Any) -> str | None:
    if not isinstance(obj, dict) or not any(key in obj for key in USER_KEYS):
        return "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
    if array == "events" and not obj.get("name"):
        return "'name' is required"
    if array == "purchases" and not obj.get("product_id"):
        return "'product_id' is required"
    return None


def _users_track(app: FakeBraze, body: dict[str, Any]) -> Answer:
    arrays = {name: body.get(name) or [] for name in ("attributes", "events", "purchases")}
    if any(len(items) > app.track_per_array for items in arrays.values()):
        return _bad(MAX_INPUT)
    if app.track_per_request is not None and sum(map(len, arrays.values())) > app.track_per_request:
        return _bad(MAX_INPUT)
    errors: list[dict[str, Any]] = []
    processed = dict.fromkeys(arrays, 0)
    for name, items in arrays.items():
        for index, obj in enumerate(items):
            problem = _object_error(name, obj)
            if problem:
                errors.append({"type": problem, "input_array": name, "index": index})
                continue
            processed[name] += 1
            if app.store_users and name == "attributes" and "external_id" in obj:
                app.users.setdefault(obj["external_id"], {}).update(
                    {k: v for k, v in obj.items() if k != "external_id"}
                )
    answer: dict[str, Any] = {"message": "success", **{f"{k}_processed": v for k, v in processed.items()}}
    if errors:
        answer["errors"] = errors
    return 201, answer


def _users_export(app: FakeBraze, body: dict[str, Any]) -> Answer:
    ids = body.get("external_ids") or []
    if len(ids) + len(body.get("user_aliases") or []) > app.recipients_per_request:
        return _bad(MAX_IDS)
    users = [{"external_id": i, **app.users[i]} for i in ids if i in app.users]
    invalid = [i for i in ids if i not in app.users]
    return 201, {"message": "success", "users": users, "invalid_user_ids": invalid}


def _known(app: FakeBraze, campaign_id: str | None) -> dict[str, Any] | None:
    return next((c for c in app.campaigns if c["id"] == campaign_id), None)


def _send_id_create(app: FakeBraze, body: dict[str, Any]) -> Answer:
    if _known(app, body.get("campaign_id")) is None:
        return _bad("Invalid campaign_id")
    send_id = body.get("send_id") or f"send-{secrets.token_hex(6)}"
    app.send_ids.setdefault(body["campaign_id"], set()).add(send_id)
    return 201, {"message": "success", "send_id": send_id}


def _series(query: dict[str, str]) -> Answer:
    try:
        length = int(query.get("length", ""))
    except ValueError:
        return _bad("'length' must be an integer between 1 and 100")
    if not 1 <= length <= 100:
        return _bad("'length' must be an integer between 1 and 100")
    data = [
        {
            "time": (_EPOCH - timedelta(days=day)).date().isoformat(),
            "messages": {"ios_push": [{"variation_api_id": "v-1", "sent": 100 + day, "opens": 10 + day}]},
            "unique_recipients": 100 + day,
            "conversions": day,
        }
        for day in range(length)
    ]
    return 200, {"message": "success", "data": data}


def _campaigns_list(app: FakeBraze, query: dict[str, str]) -> Answer:
    page = int(query.get("page", "0") or 0)
    shown = [c for c in app.campaigns if query.get("include_archived") == "true" or not c["archived"]]
    shown.sort(key=lambda c: str(c["last_edited"]), reverse=query.get("sort_direction", "desc") == "desc")
    keys = ("id", "name", "last_edited", "is_api_campaign", "tags")
    entries = [{k: c[k] for k in keys} for c in shown[page * 100 : page * 100 + 100]]
    return 200, {"message": "success", "campaigns": entries}


def _campaign_details(app: FakeBraze, query: dict[str, str]) -> Answer:
    found = _known(app, query.get("campaign_id"))
    if found is None:
        return _bad("Invalid campaign_id")
    details = {k: v for k, v in found.items() if k not in {"id", "last_edited", "is_api_campaign"}}
    return 200, {"message": "success", "draft": False, "enabled": True, "messages": {}, **details}


def route(app: FakeBraze, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
    """Dispatch one authorised, non-rate-limited request."""
    posts = {
        "/messages/send": _messages_send,
        "/campaigns/trigger/send": _campaign_trigger,
        "/canvas/trigger/send": _canvas_trigger,
        "/users/track": _users_track,
        "/users/export/ids": _users_export,
        "/sends/id/create": _send_id_create,
    }
    if method == "POST" and path in posts:
        if not isinstance(body, dict):
            return _bad("Request body must be a JSON object")
        return posts[path](app, body)
    if method == "GET":
        if path in {"/campaigns/data_series", "/sends/data_series"}:
            if _known(app, query.get("campaign_id")) is None:
                return _bad("Invalid campaign_id")
            return _series(query)
        if path == "/campaigns/list":
            return _campaigns_list(app, query)
        if path == "/campaigns/details":
            return _campaign_details(app, query)
    return 404, b"<html><body><h1>404 Not Found</h1></body></html>"
