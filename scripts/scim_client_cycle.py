"""DIR1: a full provisioning cycle against Tracker's SCIM server, driven by
the scim2-client library (a real SCIM client, validating every answer
against the schemas the server publishes).

    TRACKER_SCIM_URL=http://127.0.0.1:8080/scim/v2 TRACKER_SCIM_TOKEN=... python scim_client_cycle.py

Discovers the server, creates a user, finds it by filter, patches it,
replaces it, deactivates it, deletes it and sees it gone. Exits non-zero
on the first surprise; prints the created user's id on success.
"""

import os
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import PatchOp, PatchOperation, SearchRequest


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main():
    base = os.environ["TRACKER_SCIM_URL"].rstrip("/") + "/"
    token = os.environ["TRACKER_SCIM_TOKEN"]
    http = httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    client = SyncSCIMClient(http)
    client.discover()

    User = client.get_resource_model("User")
    check(User is not None, "the server publishes a User resource type")

    user = User(
        user_name="cycle.user@corp.example",
        name={"givenName": "Cycle", "familyName": "User"},
        emails=[{"value": "cycle.user@example.com", "type": "work", "primary": True}],
        external_id="cycle-1",
        active=True,
    )
    created = client.create(user)
    check(created.id, "the created user has an id")
    check(created.user_name == "cycle.user@corp.example", f"userName kept: {created.user_name}")
    check(created.meta.version, "meta.version is set")

    found = client.search(User, SearchRequest(filter='userName eq "CYCLE.USER@corp.example"'))
    check(found.total_results == 1, f"found by userName without regard to case: {found.total_results}")
    check(found.resources[0].id == created.id, "the same user")

    fetched = client.query(User, created.id)
    check(fetched.name.given_name == "Cycle", "read back")

    patched = client.modify(
        User,
        created.id,
        PatchOp[User](
            operations=[
                PatchOperation(op="replace", path="name.givenName", value="Cyclist"),
            ]
        ),
    )
    if patched is not None:
        check(patched.name.given_name == "Cyclist", f"patched: {patched.name.given_name}")
    check(client.query(User, created.id).name.given_name == "Cyclist", "the patch stuck")

    fetched = client.query(User, created.id)
    fetched.name.family_name = "Rider"
    replaced = client.replace(fetched)
    check(replaced.name.family_name == "Rider", "replaced")

    client.modify(User, created.id, PatchOp[User](operations=[PatchOperation(op="replace", path="active", value=False)]))
    check(client.query(User, created.id).active is False, "deactivated")

    client.delete(User, created.id)
    gone = client.search(User, SearchRequest(filter='userName eq "cycle.user@corp.example"'))
    check(gone.total_results == 0, "deleted users are not listed")
    try:
        client.query(User, created.id)
        check(False, "a deleted user answers 404")
    except Exception as e:  # scim2-client raises the server's SCIM error
        check("404" in str(e) or "not found" in str(e).lower(), f"404 after delete: {e!r}")

    print(created.id)


if __name__ == "__main__":
    main()
