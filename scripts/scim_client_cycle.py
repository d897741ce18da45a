"""DIR1: a full provisioning cycle against Tracker's SCIM server, driven by
the scim2-client library (a real SCIM client, validating every answer
against the schemas the server publishes).

    TRACKER_SCIM_URL=http://127.0.0.1:8080/scim/v2 TRACKER_SCIM_TOKEN=... python scim_client_cycle.py

Discovers the server, creates a user, finds it by filter, patches it,
replaces it; makes a group with it as member, finds the group by
displayName, moves the membership to a second user with one PATCH
(add, and remove by a value filter), replaces and deletes the group;
deactivates the user, deletes it and sees it gone. Exits non-zero on the
first surprise; prints the created user's id on success.
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


def member_ids(group):
    return sorted(m.value for m in (group.members or []))


def groups_cycle(client, User, user_id):
    Group = client.get_resource_model("Group")
    check(Group is not None, "the server publishes a Group resource type")
    other = client.create(
        User(
            user_name="cycle.other@corp.example",
            name={"givenName": "Other", "familyName": "User"},
            emails=[{"value": "cycle.other@example.com", "type": "work", "primary": True}],
        )
    )

    group = client.create(Group(display_name="Cycle Admins", external_id="g-cycle", members=[{"value": user_id}]))
    check(group.id, "the created group has an id")
    check(member_ids(group) == [user_id], f"created with its member: {member_ids(group)}")
    check(group.meta.version, "a group has meta.version")

    found = client.search(Group, SearchRequest(filter='displayName eq "cycle admins"'))
    check(found.total_results == 1 and found.resources[0].id == group.id, "found by displayName without regard to case")

    client.modify(
        Group,
        group.id,
        PatchOp[Group](
            operations=[
                PatchOperation(op="add", path="members", value=[{"value": other.id}]),
                PatchOperation(op="remove", path=f'members[value eq "{user_id}"]'),
            ]
        ),
    )
    fetched = client.query(Group, group.id)
    check(member_ids(fetched) == [other.id], f"membership moved: {member_ids(fetched)}")

    fetched.display_name = "Cycle Readers"
    fetched.members = [{"value": user_id}, {"value": other.id}]
    replaced = client.replace(fetched)
    check(replaced.display_name == "Cycle Readers", f"renamed: {replaced.display_name}")
    check(member_ids(replaced) == sorted([user_id, other.id]), f"replaced members: {member_ids(replaced)}")

    client.delete(Group, group.id)
    try:
        client.query(Group, group.id)
        check(False, "a deleted group answers 404")
    except Exception as e:  # scim2-client raises the server's SCIM error
        check("404" in str(e) or "not found" in str(e).lower(), f"404 after delete: {e!r}")


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

    groups_cycle(client, User, created.id)

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
