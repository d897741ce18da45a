"""Schemathesis hooks for scripts/schemathesis.sh: how the run signs in, and
which generated requests it must not send because they would end its own
session rather than test the API.

The run is signed in as the demo administrator. Three things an
administrator may legitimately do to themselves would sign the run out for
good, so the cases that do them to the run's own account are left out:

- N5: `POST /users/{id}/reset-password` on itself makes its password unusable
  and ends its sessions;
- D7/S10: `PATCH /users/{id}` with a new `email` on itself does the same;
- S4: wrong passwords for its own email at `POST /sessions` would lock it.

`DELETE /sessions/current` is tested as it comes: it ends the run's session,
the next request answers 401, and the auth provider below signs in again.
The run's own sign-ins come from a documentation address (TEST-NET-3) through
`X-Forwarded-For` (the server trusts 127.0.0.1 as its proxy, S12), so the
per-address sign-in limit the fuzzed `POST /sessions` requests exhaust never
applies to them.

The stateful phase follows links (declared and inferred) from one answer to
the next, but a chain starts only when its first request succeeds, and a
generated body names records by random ids (`office_id`, `lead_*_id`,
approvers, successors, `delegate_ids`, …) that exist nowhere, so most
creations were refused with 404/422 and the chains stopped there.
`before_call` swaps each string id in a JSON body that names no known
record for a real one of the same kind: the demo company's, read once at
start, and every record the run itself creates (`after_call`). It does so
for every request of the stateful phase, and for every other positive
case of the other phases (a seeded coin): an operation whose body names
people (`POST /approval-routes`, the bulk lead update, `/offboard`) was
otherwise refused for every positive case there, so what lies behind the
ids went untested; the other half keep their generated ids, so refusals
of unknown ids are still tested. Negative cases are never changed. Path
ids are left alone: the stateful phase takes them from the links.
"""

import json
import os
import random
import time
import urllib.error
import urllib.request

import schemathesis

BASE = os.environ["TRACKER_ST_BASE"]
EMAIL = os.environ["TRACKER_ST_EMAIL"]
PASSWORD = os.environ["TRACKER_ST_PASSWORD"]
OWN_ADDRESS = "203.0.113.7"

STATE = {"user_id": None, "token": None}


def sign_in():
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    for _ in range(5):
        req = urllib.request.Request(
            f"{BASE}/api/v1/sessions",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Forwarded-For": OWN_ADDRESS},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                out = json.load(resp)
                STATE["user_id"] = out["user"]["id"]
                return out["token"]
        except urllib.error.HTTPError as e:
            if e.code != 429:
                raise RuntimeError(f"the run's own sign-in failed: {e.code} {e.read()!r}") from e
            time.sleep(int(e.headers.get("Retry-After", "60")))
    raise RuntimeError("the run's own sign-in stayed rate limited")


STATE["token"] = sign_in()


def api_get(path):
    req = urllib.request.Request(f"{BASE}/api/v1{path}", headers={"Authorization": f"Bearer {STATE['token']}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


# Known records by kind: ids that name something, for the stateful phase.
KNOWN = {
    "user": [u["id"] for u in api_get("/users?status=active&per_page=500")["items"] if u["id"] != STATE["user_id"]],
    "office": [o["id"] for o in api_get("/offices?per_page=500")["items"]],
    "firm": [f["id"] for f in api_get("/firms?per_page=500")["items"]],
    "matter": [m["id"] for m in api_get("/matters?per_page=500")["items"]],
    "route": [r["id"] for r in api_get("/approval-routes?per_page=500")["items"]],
}
ALL_KNOWN = {i for ids in KNOWN.values() for i in ids}
# Which kind a POST's 201 answer creates, by the collection it was sent to.
CREATES = {"/users": "user", "/offices": "office", "/firms": "firm", "/matters": "matter", "/approval-routes": "route"}
PICK = random.Random(20261122)
# Which positive cases outside the stateful phase get real ids.
COIN = random.Random(20261123)


def kind_of(key):
    """The kind of record a body field names, or None when it names none."""
    key = key.lower()
    for kind in ("office", "firm", "matter", "route"):
        if key.startswith(kind):
            return kind
    if key.endswith(("_id", "_ids")) or key in ("successors", "delegates"):
        return "user"
    return None


def real_ids(value, kind):
    """`value` with every string that names no known record replaced by a known id of `kind`."""
    if isinstance(value, str):
        return value if value in ALL_KNOWN or not KNOWN[kind] else PICK.choice(KNOWN[kind])
    if isinstance(value, list):
        return [real_ids(v, kind) for v in value]
    if isinstance(value, dict):
        return {k: real_ids(v, kind) for k, v in value.items()}
    return value


def with_real_ids(body):
    if isinstance(body, list):
        return [with_real_ids(v) for v in body]
    if not isinstance(body, dict):
        return body
    out = {}
    for key, value in body.items():
        kind = kind_of(key)
        out[key] = real_ids(value, kind) if kind else with_real_ids(value)
    return out


def wants_real_ids(case):
    if case.meta is None:
        return False
    if case.meta.phase.name == "stateful":
        return True
    return case.meta.generation.mode.value == "positive" and COIN.random() < 0.5


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.body, (dict, list)) and wants_real_ids(case):
        case.body = with_real_ids(case.body)


@schemathesis.auth(refresh_interval=None, retry_on=[])
class DemoAdministrator:
    """The run's session, signed in again only after the API ended it."""

    def get(self, case, context):
        if STATE["token"] is None:
            STATE["token"] = sign_in()
        return STATE["token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def after_call(context, case, response):
    sent = (case.headers or {}).get("Authorization")
    if response.status_code == 401 and STATE["token"] and sent == f"Bearer {STATE['token']}":
        STATE["token"] = None
    kind = CREATES.get(case.operation.path.removeprefix("/api/v1"))
    if response.status_code == 201 and case.operation.method.upper() == "POST" and kind:
        try:
            created = response.json()
        except ValueError:
            return
        # POST /firms answers the firm and its administrator.
        record = created.get("firm", created) if isinstance(created, dict) else None
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            KNOWN[kind].append(record["id"])
            ALL_KNOWN.add(record["id"])


@schemathesis.hook
def filter_case(context, case):
    method = case.operation.method.upper()
    path = case.operation.path
    params = case.path_parameters or {}
    own = params.get("id") == STATE["user_id"]
    if method == "POST" and path.endswith("/users/{id}/reset-password") and own:
        return False
    if method == "PATCH" and path.endswith("/users/{id}") and own and isinstance(case.body, dict) and "email" in case.body:
        return False
    if method == "POST" and path.endswith("/sessions") and isinstance(case.body, dict):
        email = case.body.get("email")
        if isinstance(email, str) and email.strip().lower() == EMAIL:
            return False
    return True
