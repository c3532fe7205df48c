"""The schema, as an ordered list of migration scripts.

Script ``n`` (1-based) takes a database from ``PRAGMA user_version = n - 1`` to ``n``.
Never edit a script that has shipped: append a new one, so every existing database file
can be brought forward in order.
"""

from __future__ import annotations

SCHEMA_V1 = """
CREATE TABLE repositories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    location TEXT NOT NULL UNIQUE,
    watch INTEGER NOT NULL DEFAULT 0,
    added TEXT NOT NULL
);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    repo TEXT NOT NULL,
    ref TEXT NOT NULL,
    commit_sha TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    finished TEXT,
    author TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    tag TEXT,
    started_by TEXT NOT NULL DEFAULT '',
    image_name TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX runs_by_repo ON runs (repo, created DESC, id DESC);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE stages (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    summary TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, name)
);

CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    digest TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    tag TEXT,
    run_id TEXT NOT NULL DEFAULT '',
    tested INTEGER NOT NULL DEFAULT 0,
    recorded TEXT NOT NULL,
    UNIQUE (repo, digest, run_id)
);
CREATE INDEX images_by_tag ON images (repo, tag);
CREATE INDEX images_by_commit ON images (repo, commit_sha);

CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    os_user TEXT NOT NULL,
    host TEXT NOT NULL,
    action TEXT NOT NULL,
    repo TEXT NOT NULL DEFAULT '',
    environment TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_by_repo ON audit (repo, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted');
END;

CREATE TABLE deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    environment TEXT NOT NULL,
    digest TEXT NOT NULL,
    image TEXT NOT NULL,
    commit_sha TEXT NOT NULL DEFAULT '',
    tag TEXT,
    run_id TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    deployed_by TEXT NOT NULL,
    approved_by TEXT NOT NULL DEFAULT '[]',
    rollback INTEGER NOT NULL DEFAULT 0,
    rolled_back_from INTEGER REFERENCES deployments (id),
    comment TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deployments_by_env ON deployments (repo, environment, id DESC);

CREATE TABLE approval_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    environment TEXT NOT NULL,
    run_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    image TEXT NOT NULL,
    commit_sha TEXT NOT NULL DEFAULT '',
    tag TEXT,
    config_fingerprint TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    requested_by TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT,
    status TEXT NOT NULL,
    resolved TEXT,
    resolved_by TEXT NOT NULL DEFAULT '',
    resolution_comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX approval_requests_by_env ON approval_requests (repo, environment, status);

CREATE TABLE approvals (
    request_id INTEGER NOT NULL REFERENCES approval_requests (id) ON DELETE CASCADE,
    approver TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    digest TEXT NOT NULL,
    config_fingerprint TEXT NOT NULL,
    PRIMARY KEY (request_id, approver)
);

CREATE TABLE pins (
    repo TEXT NOT NULL,
    environment TEXT NOT NULL,
    pinned_by TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    since TEXT NOT NULL,
    PRIMARY KEY (repo, environment)
);
"""

# Who works on a run or a deployment (store/owner.py), so that recovery at start-up only
# settles rows whose process is gone, never those of another live Dockyard process; and
# when an interrupted deployment was last reconciled against its daemon.
SCHEMA_V2 = """
ALTER TABLE runs ADD COLUMN owner_host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN owner_pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN owner_started TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN owner_host TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN owner_pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN owner_started TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN reconciled TEXT;
CREATE INDEX deployments_by_status ON deployments (status);
"""

# One deployment at a time per environment, across processes (store/ledger_locks.py): the
# row names the process holding it, so a lock left by a killed process counts as free.
SCHEMA_V3 = """
CREATE TABLE deployment_locks (
    repo TEXT NOT NULL,
    environment TEXT NOT NULL,
    token TEXT NOT NULL,
    what TEXT NOT NULL DEFAULT '',
    taken_by TEXT NOT NULL DEFAULT '',
    taken TEXT NOT NULL,
    owner_host TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_started TEXT NOT NULL,
    PRIMARY KEY (repo, environment)
);
"""

# This machine's settings (store/machine.py), formerly hosts.json and watch/*.json: they
# stay in the local file even when the ledger is a team's, because they describe this
# machine's daemons and its polling.
SCHEMA_V4 = """
CREATE TABLE endpoints (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    tls_ca TEXT NOT NULL DEFAULT '',
    tls_cert TEXT NOT NULL DEFAULT '',
    tls_key TEXT NOT NULL DEFAULT '',
    ssh_config TEXT NOT NULL DEFAULT '',
    ssh_identity TEXT NOT NULL DEFAULT '',
    ssh_known_hosts TEXT NOT NULL DEFAULT '',
    context TEXT NOT NULL DEFAULT ''
);
CREATE TABLE watched_refs (
    location TEXT PRIMARY KEY,
    refs TEXT NOT NULL,
    seen TEXT NOT NULL
);
"""

# The registries with a Dockyard login on this machine and its user, never a password
# (engine/endpoints/registry_auth.py), formerly registry-logins.json.
SCHEMA_V5 = """
CREATE TABLE registry_logins (
    registry TEXT PRIMARY KEY,
    username TEXT NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5)
