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
"""

import json
import os
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
