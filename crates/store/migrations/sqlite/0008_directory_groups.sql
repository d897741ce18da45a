-- Issue 13 (SPEC §5a DIR1): the directory's groups, and the mapping of a
-- group's display name to a Tracker role kept in settings.
-- Keep in step with ../postgres/0008_directory_groups.sql.

-- A SCIM Group. `display_name_norm` is the display name folded for case:
-- groups are found, and mapped to roles, without regard to case.
CREATE TABLE directory_groups (
    id                 TEXT PRIMARY KEY,
    display_name       TEXT NOT NULL,
    display_name_norm  TEXT NOT NULL UNIQUE,
    external_id        TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX directory_groups_by_external_id ON directory_groups (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX directory_groups_by_created ON directory_groups (created_at, id);

-- Members are directory users; a user's groups are read through the
-- second index when their role is worked out.
CREATE TABLE directory_group_members (
    group_id  TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX directory_group_members_by_user ON directory_group_members (user_id, group_id);

-- JSON: [{"group": display name, "role": role}], in the order set.
ALTER TABLE settings ADD COLUMN directory_group_roles TEXT NOT NULL DEFAULT '[]';
