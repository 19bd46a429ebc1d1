"""The directory's tables (SQLAlchemy Core), the single source for migrations and queries.

Every entity the platform sees has an internal id that never changes (a UUID string made by
schoolsync). Register keys (personnummer, names, register ids) are mutable attributes with unique
indexes, so a re-key or a rename keeps the row and its history. Nothing is ever deleted: ending sets
an end date, and the change log keeps one row per change, tied to the run that made it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)
# A JSON column whose values the engine holds as JSON text already (UserRow's addresses and
# identifiers): bulk writes pass the text through instead of encoding it again.
JSON_TEXT = {"json_text": True}

ID = String(36)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # sync | edit | rekey | merge | rename | approve
    Column("status", String(20), nullable=False),  # applied | held | failed
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("today", Date, nullable=False),
    Column("who", String(200), nullable=False),
    Column("sources", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("message", Text),
)

changes = Table(
    "changes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("entity", String(20), nullable=False),
    Column("entity_id", ID, nullable=False, index=True),
    Column("action", String(20), nullable=False),
    Column("details", JSON, nullable=False),
)

run_issues = Table(
    "run_issues",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("code", String(60), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("rule", String(10), nullable=False),
    Column("subject", Text, nullable=False),
    Column("message", Text, nullable=False),
)

run_issue_persons = Table(
    "run_issue_persons",
    metadata,
    Column(
        "issue_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("run_issues.id"),
        nullable=False,
        index=True,
    ),
    Column("register_id", String(100), nullable=False, index=True),  # never a name or number
)

schools = Table(
    "schools",
    metadata,
    Column("id", ID, primary_key=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("name", String(300), nullable=False, unique=True),
    Column("created_run_id", Integer, ForeignKey("runs.id")),
)

school_units = Table(
    "school_units",
    metadata,
    Column("register_id", String(100), primary_key=True),
    Column("school_id", ID, ForeignKey("schools.id"), nullable=False, index=True),
    Column("code", String(50)),
    Column("name", String(300), nullable=False),
    Column("school_types", JSON, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("civic_no", String(12), nullable=False, unique=True),
    Column("register_id", String(100), index=True),
    Column("given_name", String(200), nullable=False),
    Column("middle_name", String(200)),
    Column("family_name", String(200), nullable=False),
    Column("birth_date", Date),
    Column("sex", String(10)),
    Column("email", String(320)),
    Column("mobile", String(50)),
    Column("addresses", JSON, nullable=False, info=JSON_TEXT),  # written as the plan's text
    Column("identifiers", JSON, nullable=False, info=JSON_TEXT),
    Column("signature", String(50)),
    Column("status", String(10), nullable=False),
    Column("protected", Boolean, nullable=False, default=False),
    Column("merged_into", ID, ForeignKey("users.id")),  # ``user merge``: the account kept
    Column("created_run_id", Integer, ForeignKey("runs.id")),
    Column("updated_run_id", Integer, ForeignKey("runs.id")),
)

user_schools = Table(
    "user_schools",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id"), nullable=False),
    Column("school_id", ID, ForeignKey("schools.id"), nullable=False, index=True),
    Column("role", String(10), nullable=False),  # student | teacher | staff | guardian
    Column("start_date", Date),
    Column("end_date", Date),
    Column("signature", String(50)),
    Column("created_run_id", Integer, ForeignKey("runs.id")),
    Column("updated_run_id", Integer, ForeignKey("runs.id")),
    UniqueConstraint("user_id", "school_id", "role", name="uq_user_schools_user_school_role"),
)

guardianships = Table(
    "guardianships",
    metadata,
    Column("id", ID, primary_key=True),
    Column("guardian_id", ID, ForeignKey("users.id"), nullable=False),
    Column("student_id", ID, ForeignKey("users.id"), nullable=False, index=True),
    Column("relation", String(30), nullable=False),  # Vårdnadshavare, God man, ...
    Column("end_date", Date),
    Column("created_run_id", Integer, ForeignKey("runs.id")),
    Column("updated_run_id", Integer, ForeignKey("runs.id")),
    UniqueConstraint("guardian_id", "student_id", name="uq_guardianships_guardian_student"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", ID, primary_key=True),
    Column("school_id", ID, ForeignKey("schools.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # class | group | mentor | other
    Column("name", String(300), nullable=False),
    Column("register_id", String(300), index=True),  # Group.id, or gen:<activity>:<group>
    Column("register_type", String(20), nullable=False),  # SS 12000 groupType, or Generated
    Column("subject", String(50)),
    Column("course", String(50)),
    Column("activities", JSON, nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("status", String(10), nullable=False),  # active | archived
    # What the register still calls a class or group renamed in the directory first (R5.3).
    Column("register_name", String(300)),
    Column("created_run_id", Integer, ForeignKey("runs.id")),
    Column("updated_run_id", Integer, ForeignKey("runs.id")),
    UniqueConstraint("school_id", "kind", "name", name="uq_groups_school_kind_name"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", ID, primary_key=True),
    Column("group_id", ID, ForeignKey("groups.id"), nullable=False),
    Column("user_id", ID, ForeignKey("users.id"), nullable=False, index=True),
    Column("role", String(10), nullable=False),  # student | teacher | mentor | member
    Column("start_date", Date),
    Column("end_date", Date),
    Column("created_run_id", Integer, ForeignKey("runs.id")),
    Column("updated_run_id", Integer, ForeignKey("runs.id")),
    UniqueConstraint("group_id", "user_id", "role", name="uq_memberships_group_user_role"),
)

lessons = Table(
    "lessons",
    metadata,
    Column("id", ID, primary_key=True),
    Column("source", String(120), nullable=False),  # novaschem:<SchoolID> | ss12000
    Column("source_key", String(400), nullable=False),
    Column("school_id", ID, ForeignKey("schools.id")),
    Column(
        "group_name", String(300), nullable=False
    ),  # the group or class as the schedule wrote it
    Column("group_id", ID, ForeignKey("groups.id"), index=True),  # None: not tied (see problem)
    Column("class_id", ID, ForeignKey("groups.id")),  # R8.2: tied through this class
    Column("subject", String(50)),
    Column("teachers", JSON, nullable=False),  # signatures
    Column("start", DateTime, nullable=False),  # Swedish wall-clock time
    Column("end", DateTime, nullable=False),
    Column("room", String(200)),
    Column("cancelled", Boolean, nullable=False),
    Column("removed", Boolean, nullable=False),  # gone from the schedule (future lessons only)
    Column("problem", String(60)),  # the issue code that kept it from being tied
    Column("digest", BigInteger),  # of the values above (the planner's); None: written before it
    Column("created_run_id", Integer, ForeignKey("runs.id")),
    Column("updated_run_id", Integer, ForeignKey("runs.id")),
    UniqueConstraint("source", "source_key", name="uq_lessons_source_key"),
)

# The stored picture of a register read over its SS 12000 API (incremental reads merge into it):
# per API, where the last complete reads began, and every record as served (a person with
# protected identity without what identifies them).
register_sources = Table(
    "register_sources",
    metadata,
    Column("source", String(500), primary_key=True),  # the API's base URL
    Column("full_read_at", DateTime(timezone=True), nullable=False),  # the provider's clock
    Column(
        "scope", Text, nullable=False
    ),  # what the reads were asked for ([ss12000] organisations)
    Column("deletions_unavailable_since", Date),  # no /deletedEntities, as found on this day
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),  # the last run that read it
)

register_reads = Table(
    "register_reads",
    metadata,
    Column("source", String(500), primary_key=True),
    Column("endpoint", String(40), primary_key=True),
    Column("read_from", DateTime(timezone=True), nullable=False),  # the provider's clock
    Column("calendar_from", Date),  # calendarEvents: the days the read's window covered
    Column("calendar_to", Date),
)

register_records = Table(
    "register_records",
    metadata,
    Column("source", String(500), primary_key=True),
    Column("endpoint", String(40), primary_key=True),
    Column("record_id", String(200), primary_key=True),  # lower case
    Column("position", Integer, nullable=False),  # reading order
    Column("body", Text, nullable=False),  # the record as JSON
)

# Bearer tokens of the REST API (``admin token add``): only a hash of each is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256, hex
    Column("role", String(20), nullable=False),  # org-admin | school-admin | read-only
    Column("schools", JSON, nullable=False),  # school ids (school-admin)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

# OAuth2 clients of the OneRoster service (``admin client add``): only a hash of each secret.
oneroster_clients = Table(
    "oneroster_clients",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),  # SHA-256, hex
    Column("scopes", JSON, nullable=False),  # the OneRoster scopes it may be given
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

# The jobs ``serve`` runs on a schedule ([[jobs]]): when each last began, and how it went.
scheduled_jobs = Table(
    "scheduled_jobs",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("last_started_at", DateTime(timezone=True), nullable=False),
    Column("last_run_id", Integer),  # None: the run stopped before it was recorded
    Column("last_status", String(20), nullable=False),  # applied | held | failed
)

web_users = Table(
    "web_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(200), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),  # argon2id, PHC string
    Column("role", String(20), nullable=False),  # org-admin | school-admin | read-only
    Column("schools", JSON, nullable=False),  # school ids (school-admin)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    # Raised when the password changes or the user is disabled: older sessions end.
    Column("session_epoch", Integer, nullable=False, default=0),
)

service_keys = Table(
    "service_keys",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),  # "user NAME" or "token NAME"
    Column("action", String(50), nullable=False),  # civic-no-shown | run-approved
    Column("subject", String(200), nullable=False),  # an object's id, never personal data
    Column("address", String(64)),  # the client's address
)

Index("ix_users_family_given", users.c.family_name, users.c.given_name)
# Looked up by name and signature alone: troubleshooting, and the issues a page shows by school.
Index("ix_groups_name", groups.c.name)
Index("ix_users_signature", users.c.signature)
Index("ix_user_schools_signature", user_schools.c.signature)
