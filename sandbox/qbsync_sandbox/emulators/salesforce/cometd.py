"""Streaming API: Change Data Capture events over CometD (Bayeux 1.0, long polling).

`POST /cometd/<version>` takes a JSON array of Bayeux messages, as a CometD client sends them
(Streaming API Developer Guide, "Bayeux Protocol, CometD, and Long Polling" and "How the Client
Connects"; the Bayeux specification for the message fields):

- `/meta/handshake` → a `clientId`, `supportedConnectionTypes` ["long-polling"], and the
  `advice` (reconnect "retry", interval 0, timeout 110000 ms); `ext.replay` true says the
  server keeps events for replay;
- `/meta/subscribe` to `/data/<Object>__ChangeEvent` (or `/data/ChangeEvents`), with the replay
  extension's `ext.replay` map {channel: replayId}: -1 only new events, -2 every retained event,
  a replay id the events after it. Subscribing to an object's channel needs View All Records on
  it (or View All Data); `/data/ChangeEvents` delivers only the events of the objects the user
  may view all of (cdc_security_perms.htm). A body carries only the fields the user may read;
- `/meta/connect` (long polling) answers at once with the events waiting, else holds the request
  until one arrives or the advice's timeout passes, then answers with the connect reply last;
  the first connect of a client answers at once;
- `/meta/unsubscribe`, `/meta/disconnect`.

A client id the server does not know (never handshaken, or disconnected) gets `403::Unknown
client` with advice reconnect "handshake", as a CometD server answers, so a client handshakes
again. The request needs the session in `Authorization: Bearer …` (or `OAuth …`), like the REST
API. Wordings marked UNCONFIRMED are not in Salesforce's documentation.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, json, request

from qbsync_sandbox.emulators.salesforce.change_events import (
    ALL_CHANGES,
    CHANNEL_PREFIX,
    ChangeEvent,
    object_of_entity,
)
from qbsync_sandbox.emulators.salesforce.permissions import User

cometd = Blueprint("salesforce_cometd", __name__)

# The advice's timeout: how long Salesforce holds a connect without events (110 s, "How the
# Client Connects").
ADVICE_TIMEOUT_MS = 110_000
REPLAY_NEW = -1
REPLAY_ALL = -2
_VERSION = re.compile(r"^\d{2,3}\.0$")


@dataclass
class _Client:
    user: User
    # Subscribed channel → replay id of the last event delivered (or the starting point).
    cursors: dict[str, int] = field(default_factory=dict)
    connected: bool = False


class CometdServer:
    """The Bayeux clients of one org: subscriptions and cursors into its change events."""

    def __init__(self, org, *, hold_seconds: float = ADVICE_TIMEOUT_MS / 1000) -> None:
        self.org = org
        # How long a connect without events is held (tests shorten it).
        self.hold_seconds = hold_seconds
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ messages

    def handle(self, messages: list, user: User) -> list[dict]:
        replies: list[dict] = []
        for message in messages:
            if not isinstance(message, dict) or not isinstance(message.get("channel"), str):
                replies.append(_failure({}, "400::Bad request: a message needs a channel"))
                continue
            channel = message["channel"]
            handler = {
                "/meta/handshake": self._handshake,
                "/meta/connect": self._connect,
                "/meta/subscribe": self._subscribe,
                "/meta/unsubscribe": self._unsubscribe,
                "/meta/disconnect": self._disconnect,
            }.get(channel)
            if handler is None:
                # Streaming API has no publishing over CometD for change events (UNCONFIRMED
                # wording).
                replies.append(_failure(message, f"403::Publish not allowed on {channel}"))
                continue
            replies.extend(handler(message, user))
        return replies

    def _handshake(self, message: dict, user: User) -> list[dict]:
        client_id = secrets.token_urlsafe(18)
        with self._lock:
            self._clients[client_id] = _Client(user)
        return [
            _reply(message)
            | {
                "version": "1.0",
                "minimumVersion": "1.0",
                "supportedConnectionTypes": ["long-polling"],
                "clientId": client_id,
                "successful": True,
                "ext": {"replay": True, "payload.format": True},
                "advice": _advice(),
            }
        ]

    def _client(self, message: dict) -> _Client | None:
        with self._lock:
            return self._clients.get(message.get("clientId") or "")

    def _subscribe(self, message: dict, user: User) -> list[dict]:
        client = self._client(message)
        if client is None:
            return [_unknown_client(message)]
        subscription = message.get("subscription")
        reply = _reply(message) | {"clientId": message["clientId"], "subscription": subscription}
        if not isinstance(subscription, str):
            return [reply | _error("400::Bad request: no subscription")]
        problem = self._channel_problem(subscription, client.user)
        if problem:
            return [reply | _error(problem)]
        replay = ((message.get("ext") or {}).get("replay") or {}).get(subscription, REPLAY_NEW)
        start = self._start(replay)
        if start is None:
            # Wording of the Streaming API Developer Guide ("Message Durability").
            return [
                reply
                | _error(
                    f"400::The replayId {{{replay}}} you provided was invalid. Please provide a "
                    "valid ID, -2 to replay all events, or -1 to replay only new events."
                )
            ]
        with self._lock:
            client.cursors[subscription] = start
        return [reply | {"successful": True}]

    def _unsubscribe(self, message: dict, user: User) -> list[dict]:
        client = self._client(message)
        if client is None:
            return [_unknown_client(message)]
        subscription = message.get("subscription")
        with self._lock:
            client.cursors.pop(subscription, None)
        return [
            _reply(message)
            | {"clientId": message["clientId"], "subscription": subscription, "successful": True}
        ]

    def _disconnect(self, message: dict, user: User) -> list[dict]:
        with self._lock:
            known = self._clients.pop(message.get("clientId") or "", None)
        self.org.change_events.wake()
        if known is None:
            return [_unknown_client(message)]
        return [_reply(message) | {"clientId": message["clientId"], "successful": True}]

    def _connect(self, message: dict, user: User) -> list[dict]:
        client = self._client(message)
        if client is None:
            return [_unknown_client(message)]
        bus = self.org.change_events
        deadline = time.monotonic() + (self.hold_seconds if client.connected else 0)
        client.connected = True
        while True:
            seen = bus.latest_replay_id
            events = self._deliverable(client)
            remaining = deadline - time.monotonic()
            if events or remaining <= 0 or self._client(message) is not client:
                break
            bus.wait_after(seen, remaining)
        if self._client(message) is not client:
            return [_unknown_client(message)]
        return [
            *events,
            _reply(message)
            | {"clientId": message["clientId"], "successful": True, "advice": _advice()},
        ]

    # ------------------------------------------------------------------ channels and events

    def _channel_problem(self, channel: str, user: User) -> str | None:
        if channel == ALL_CHANGES:
            return None
        entity = channel[len(CHANNEL_PREFIX) :] if channel.startswith(CHANNEL_PREFIX) else ""
        name = object_of_entity(entity)
        obj = self.org.schema.object(name) if name else None
        if obj is None or obj.name not in self.org.schema.change_events:
            # UNCONFIRMED wording; the code is the one CometD servers use for an unknown channel.
            return f"400::The channel you requested to subscribe to does not exist {{{channel}}}"
        if not user.access.views_all(obj):
            # UNCONFIRMED wording (cdc_security_perms.htm: the subscription is refused).
            return f"403::Not allowed to subscribe to {channel}: View All Records on {obj.name}"
        return None

    def _start(self, replay: object) -> int | None:
        bus = self.org.change_events
        if replay == REPLAY_NEW:
            return bus.latest_replay_id
        earliest = bus.earliest_replay_id()
        if replay == REPLAY_ALL:
            return (earliest or bus.latest_replay_id + 1) - 1
        if not isinstance(replay, int) or isinstance(replay, bool) or replay < 0:
            return None
        if earliest is not None and replay < earliest - 1:
            return None
        return replay

    def _deliverable(self, client: _Client) -> list[dict]:
        messages = []
        with self._lock:
            cursors = dict(client.cursors)
        for channel, cursor in cursors.items():
            delivered = cursor
            for event in self.org.change_events.events_after(cursor):
                delivered = event.replay_id
                if channel not in (ALL_CHANGES, event.channel):
                    continue
                visible = self._visible(event, client.user)
                if visible is not None:
                    messages.append(event.message(channel, visible))
            with self._lock:
                if channel in client.cursors:
                    client.cursors[channel] = max(client.cursors[channel], delivered)
        return messages

    def _visible(self, event: ChangeEvent, user: User) -> dict | None:
        """The payload as `user` receives it: nothing without View All Records on the object,
        only the fields it may read (cdc_security_field.htm)."""
        obj = self.org.schema.object(event.object_name)
        if obj is None or not user.access.views_all(obj):
            return None
        payload = {}
        for name, value in event.payload.items():
            definition = obj.field(name)
            if name == "ChangeEventHeader" or (
                definition is not None and user.access.readable(obj, definition)
            ):
                payload[name] = value
        return payload


def _reply(message: dict) -> dict:
    reply = {"channel": message.get("channel")}
    if "id" in message:
        reply["id"] = message["id"]
    return reply


def _error(error: str) -> dict:
    return {"successful": False, "error": error}


def _failure(message: dict, error: str) -> dict:
    return _reply(message) | _error(error)


def _advice() -> dict:
    return {"reconnect": "retry", "interval": 0, "timeout": ADVICE_TIMEOUT_MS}


def _unknown_client(message: dict) -> dict:
    return _failure(message, "403::Unknown client") | {"advice": {"reconnect": "handshake"}}


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


@cometd.post("/cometd/<version>")
def bayeux(version: str):
    state = current_app.extensions["salesforce"]
    if not _VERSION.match(version):
        return _json([{"successful": False, "error": f"404::Unknown API version {version}"}], 404)
    username = state.authority.session_user(request.headers.get("Authorization"))
    user = state.org.user(username) if username else None
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        body = None
    messages = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
    if messages is None:
        return _json([_error("400::Bad request: the body must be a JSON array of messages")], 400)
    if user is None:
        # What Salesforce answers a handshake without a valid session (UNCONFIRMED beyond the
        # 401 status and the sfdc failureReason).
        return _json(
            [
                _failure(message if isinstance(message, dict) else {}, "403::Handshake denied")
                | {
                    "advice": {"reconnect": "none"},
                    "ext": {"sfdc": {"failureReason": "401::Authentication invalid"}},
                }
                for message in messages
            ],
            401,
        )
    return _json(state.cometd.handle(messages, user))
