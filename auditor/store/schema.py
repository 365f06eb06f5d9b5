"""The fact store's schema, as an ordered list of migrations.

Tables hold versioned facts; the public, documented views (docs/schema.md) are what rules
and `auditor query` read. Mail facts are versioned rather than copied per run: a row is
valid from `first_run` until `gone_run` (the first run in which it was absent or changed),
so a run holds the complete picture as of that run while a rescan writes only what changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

SCHEMA_VERSION = 13

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    tool_version TEXT NOT NULL,
    score INTEGER,
    errors TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    locator TEXT NOT NULL,
    UNIQUE (kind, locator)
);

CREATE TABLE run_sources (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    source_id INTEGER NOT NULL REFERENCES sources (id),
    status TEXT NOT NULL,
    error TEXT,
    skipped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, source_id)
);

CREATE TABLE folder_versions (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    name TEXT NOT NULL,
    special_use TEXT,
    first_run INTEGER NOT NULL,
    gone_run INTEGER
);
CREATE INDEX folder_versions_open ON folder_versions (source_id, name, gone_run);

-- IMAP sync state per folder: what the last complete scan of the folder saw (RFC 3501
-- UIDVALIDITY/UIDNEXT/EXISTS, RFC 7162 HIGHESTMODSEQ), so a rescan fetches only changes.
CREATE TABLE folder_state (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    name TEXT NOT NULL,
    uidvalidity INTEGER,
    highestmodseq INTEGER,
    uidnext INTEGER,
    messages INTEGER,
    PRIMARY KEY (source_id, name)
);

CREATE TABLE quota_facts (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    source_id INTEGER NOT NULL REFERENCES sources (id),
    root TEXT NOT NULL,
    used_bytes INTEGER,
    limit_bytes INTEGER,
    used_messages INTEGER,
    limit_messages INTEGER
);

CREATE TABLE message_versions (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    folder TEXT NOT NULL,
    uid INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL,
    first_run INTEGER NOT NULL,
    gone_run INTEGER,
    message_id TEXT,
    internal_date TEXT,
    size_bytes INTEGER NOT NULL,
    seen INTEGER NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    from_addr TEXT,
    from_domain TEXT,
    subject TEXT,
    list_id TEXT,
    list_unsubscribe TEXT,
    one_click_unsubscribe INTEGER NOT NULL DEFAULT 0,
    precedence TEXT,
    auto_submitted TEXT,
    malformed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX message_versions_open ON message_versions (source_id, folder, gone_run);
CREATE INDEX message_versions_span ON message_versions (source_id, first_run);
CREATE INDEX message_versions_gone ON message_versions (gone_run);
CREATE INDEX message_versions_first ON message_versions (first_run);

CREATE TABLE attachment_versions (
    message_version_id INTEGER NOT NULL REFERENCES message_versions (id),
    part TEXT NOT NULL,
    filename TEXT,
    content_type TEXT NOT NULL,
    encoded_bytes INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL
);
CREATE INDEX attachment_versions_message ON attachment_versions (message_version_id);

CREATE TABLE host_facts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    source TEXT NOT NULL,
    hostname TEXT NOT NULL,
    os_name TEXT,
    os_version TEXT,
    os_release TEXT,
    cpu_model TEXT,
    cpu_cores_physical INTEGER,
    cpu_cores_logical INTEGER,
    ram_bytes INTEGER,
    boot_time TEXT,
    battery_present INTEGER NOT NULL DEFAULT 0,
    battery_percent REAL
);

CREATE TABLE disk_facts (
    host_fact_id INTEGER NOT NULL REFERENCES host_facts (id),
    mountpoint TEXT NOT NULL,
    device TEXT,
    fstype TEXT,
    total_bytes INTEGER NOT NULL,
    used_bytes INTEGER NOT NULL,
    rotational INTEGER,
    is_system INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE finding_rows (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    rule_id TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    effort TEXT NOT NULL,
    gesture TEXT NOT NULL,
    plan_group TEXT NOT NULL,
    plan_rank INTEGER NOT NULL,
    count INTEGER NOT NULL,
    bytes_reclaimable INTEGER,
    co2e_kg_per_year_low REAL,
    co2e_kg_per_year_high REAL,
    minutes INTEGER,
    evidence TEXT NOT NULL,
    PRIMARY KEY (run_id, rule_id)
);

-- Every rule a run evaluated, with a digest of its query, parameters and judging day: when
-- a later run's mail facts are unchanged, a mail rule with the same digest is not re-run.
CREATE TABLE rule_runs (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    rule_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (run_id, rule_id)
);

-- Public views (documented in docs/schema.md). Each has run_id and a latest_* twin.
CREATE VIEW latest_run_id AS
    SELECT max(id) AS id FROM runs WHERE status IN ('complete', 'partial');

CREATE VIEW folders AS
    SELECT rs.run_id, s.account, f.name AS folder, f.special_use,
           (SELECT count(*) FROM message_versions m
             WHERE m.source_id = f.source_id AND m.folder = f.name
               AND m.first_run <= rs.run_id AND (m.gone_run IS NULL OR m.gone_run > rs.run_id))
               AS messages,
           (SELECT coalesce(sum(m.size_bytes), 0) FROM message_versions m
             WHERE m.source_id = f.source_id AND m.folder = f.name
               AND m.first_run <= rs.run_id AND (m.gone_run IS NULL OR m.gone_run > rs.run_id))
               AS size_bytes
    FROM run_sources rs
    JOIN sources s ON s.id = rs.source_id
    JOIN folder_versions f ON f.source_id = rs.source_id
     AND f.first_run <= rs.run_id AND (f.gone_run IS NULL OR f.gone_run > rs.run_id);

CREATE VIEW messages AS
    SELECT rs.run_id, s.account, m.folder, f.special_use,
           m.uid, m.message_id, m.internal_date, m.size_bytes, m.seen, m.flags,
           m.from_addr, m.from_domain, m.subject, m.list_id, m.list_unsubscribe,
           m.one_click_unsubscribe, m.precedence, m.auto_submitted, m.malformed,
           m.id AS message_version_id
    FROM run_sources rs
    JOIN sources s ON s.id = rs.source_id
    JOIN message_versions m ON m.source_id = rs.source_id
     AND m.first_run <= rs.run_id AND (m.gone_run IS NULL OR m.gone_run > rs.run_id)
    LEFT JOIN folder_versions f ON f.source_id = m.source_id AND f.name = m.folder
     AND f.first_run <= rs.run_id AND (f.gone_run IS NULL OR f.gone_run > rs.run_id);

CREATE VIEW attachments AS
    SELECT m.run_id, m.account, m.folder, m.special_use, m.uid, a.part, a.filename,
           a.content_type, a.encoded_bytes, a.size_bytes, m.internal_date, m.subject,
           m.from_addr
    FROM messages m
    JOIN attachment_versions a ON a.message_version_id = m.message_version_id;

CREATE VIEW disks AS
    SELECT h.run_id, h.hostname, d.mountpoint, d.device, d.fstype, d.total_bytes,
           d.used_bytes,
           CASE WHEN d.total_bytes > 0
                THEN round(100.0 * d.used_bytes / d.total_bytes, 1) END AS used_percent,
           d.rotational, d.is_system
    FROM disk_facts d JOIN host_facts h ON h.id = d.host_fact_id;

CREATE VIEW hosts AS
    SELECT h.run_id, h.source, h.hostname, h.os_name, h.os_version, h.os_release,
           h.cpu_model, h.cpu_cores_physical, h.cpu_cores_logical, h.ram_bytes, h.boot_time,
           h.battery_present, h.battery_percent,
           sd.total_bytes AS system_disk_bytes, sd.used_bytes AS system_disk_used_bytes,
           CASE WHEN sd.total_bytes > 0
                THEN round(100.0 * sd.used_bytes / sd.total_bytes, 1) END
               AS system_disk_used_percent,
           sd.rotational AS system_disk_rotational
    FROM host_facts h
    LEFT JOIN disk_facts sd ON sd.host_fact_id = h.id AND sd.is_system = 1;

CREATE VIEW quotas AS
    SELECT q.run_id, s.account, q.root, q.used_bytes, q.limit_bytes,
           CASE WHEN q.limit_bytes > 0
                THEN round(100.0 * q.used_bytes / q.limit_bytes, 1) END AS used_percent,
           q.used_messages, q.limit_messages,
           CASE WHEN q.limit_messages > 0
                THEN round(100.0 * q.used_messages / q.limit_messages, 1) END
               AS used_messages_percent
    FROM quota_facts q JOIN sources s ON s.id = q.source_id;

CREATE VIEW findings AS
    SELECT run_id, rule_id, category, severity, effort, gesture, plan_group, plan_rank,
           count, bytes_reclaimable, co2e_kg_per_year_low, co2e_kg_per_year_high, minutes,
           evidence
    FROM finding_rows;

CREATE VIEW latest_runs AS SELECT * FROM runs WHERE id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_folders AS SELECT * FROM folders WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_messages AS
    SELECT * FROM messages WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_attachments AS
    SELECT * FROM attachments WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_hosts AS SELECT * FROM hosts WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_disks AS SELECT * FROM disks WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_quotas AS SELECT * FROM quotas WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_findings AS
    SELECT * FROM findings WHERE run_id = (SELECT id FROM latest_run_id);
"""

# Version 2: what the machine probes see (hardware age, OS support, antivirus, batteries,
# SMART), as new columns of host_facts (same shape, more facts) and three small tables.
_HOST_COLUMNS_V2 = (
    ("vendor", "TEXT"),
    ("model", "TEXT"),
    ("chassis", "TEXT"),
    ("bios_vendor", "TEXT"),
    ("bios_version", "TEXT"),
    ("bios_date", "TEXT"),
    ("cpu_launch_year", "INTEGER"),
    ("age_years", "REAL"),
    ("age_basis", "TEXT"),
    ("uefi", "INTEGER"),
    ("secure_boot", "INTEGER"),
    ("tpm_version", "TEXT"),
    ("os_product", "TEXT"),
    ("os_label", "TEXT"),
    ("os_eol", "TEXT"),
    ("os_supported", "INTEGER"),
    ("os_days_left", "INTEGER"),
    ("os_support_source", "TEXT"),
    ("win11_ready", "INTEGER"),
    ("win11_blockers", "TEXT"),
    ("av_protected", "INTEGER"),
    ("probe_errors", "TEXT NOT NULL DEFAULT '[]'"),
)

_V2 = (
    "".join(f"ALTER TABLE host_facts ADD COLUMN {n} {t};\n" for n, t in _HOST_COLUMNS_V2)
    + """
CREATE TABLE antivirus_facts (
    host_fact_id INTEGER NOT NULL REFERENCES host_facts (id),
    product TEXT NOT NULL,
    enabled INTEGER,
    up_to_date INTEGER,
    signature_date TEXT,
    source TEXT NOT NULL
);

CREATE TABLE battery_facts (
    host_fact_id INTEGER NOT NULL REFERENCES host_facts (id),
    name TEXT NOT NULL,
    design_capacity_wh REAL,
    full_capacity_wh REAL,
    health_percent REAL,
    cycle_count INTEGER
);

CREATE TABLE smart_facts (
    host_fact_id INTEGER NOT NULL REFERENCES host_facts (id),
    device TEXT NOT NULL,
    passed INTEGER,
    power_on_hours INTEGER
);

DROP VIEW latest_hosts;
DROP VIEW hosts;
CREATE VIEW hosts AS
    SELECT h.run_id, h.source, h.hostname, h.os_name, h.os_version, h.os_release,
           h.cpu_model, h.cpu_cores_physical, h.cpu_cores_logical, h.ram_bytes, h.boot_time,
           h.battery_present, h.battery_percent,
           sd.total_bytes AS system_disk_bytes, sd.used_bytes AS system_disk_used_bytes,
           CASE WHEN sd.total_bytes > 0
                THEN round(100.0 * sd.used_bytes / sd.total_bytes, 1) END
               AS system_disk_used_percent,
           sd.rotational AS system_disk_rotational,
           h.vendor, h.model, h.chassis, h.bios_vendor, h.bios_version, h.bios_date,
           h.cpu_launch_year, h.age_years, h.age_basis, h.uefi, h.secure_boot, h.tpm_version,
           h.os_product, h.os_label, h.os_eol, h.os_supported, h.os_days_left,
           h.os_support_source, h.win11_ready, h.win11_blockers, h.av_protected,
           (SELECT min(b.health_percent) FROM battery_facts b WHERE b.host_fact_id = h.id)
               AS battery_health_percent
    FROM host_facts h
    LEFT JOIN disk_facts sd ON sd.host_fact_id = h.id AND sd.is_system = 1;
CREATE VIEW latest_hosts AS SELECT * FROM hosts WHERE run_id = (SELECT id FROM latest_run_id);

CREATE VIEW antivirus AS
    SELECT h.run_id, h.hostname, a.product, a.enabled, a.up_to_date, a.signature_date,
           a.source
    FROM antivirus_facts a JOIN host_facts h ON h.id = a.host_fact_id;
CREATE VIEW latest_antivirus AS
    SELECT * FROM antivirus WHERE run_id = (SELECT id FROM latest_run_id);

CREATE VIEW batteries AS
    SELECT h.run_id, h.hostname, b.name, b.design_capacity_wh, b.full_capacity_wh,
           b.health_percent, b.cycle_count
    FROM battery_facts b JOIN host_facts h ON h.id = b.host_fact_id;
CREATE VIEW latest_batteries AS
    SELECT * FROM batteries WHERE run_id = (SELECT id FROM latest_run_id);
"""
)

# Version 3: one-off gains of a finding (hardware kept instead of replaced): kg CO2e avoided
# and euros saved, as low-high ranges.
_V3 = """
ALTER TABLE finding_rows ADD COLUMN co2e_kg_avoided_low REAL;
ALTER TABLE finding_rows ADD COLUMN co2e_kg_avoided_high REAL;
ALTER TABLE finding_rows ADD COLUMN euros_low REAL;
ALTER TABLE finding_rows ADD COLUMN euros_high REAL;

DROP VIEW latest_findings;
DROP VIEW findings;
CREATE VIEW findings AS
    SELECT run_id, rule_id, category, severity, effort, gesture, plan_group, plan_rank,
           count, bytes_reclaimable, co2e_kg_per_year_low, co2e_kg_per_year_high, minutes,
           evidence, co2e_kg_avoided_low, co2e_kg_avoided_high, euros_low, euros_high
    FROM finding_rows;
CREATE VIEW latest_findings AS
    SELECT * FROM findings WHERE run_id = (SELECT id FROM latest_run_id);
"""


def _repair_v3(conn: sqlite3.Connection) -> None:
    """v4: give a v3 store made by a development build of auditor the released v3 shape.

    Builds before 2026-11-27 18:00 UTC wrote version 1 with fewer tables (quota_facts,
    rule_runs), indexes, one column (folder_state.messages) and an older `messages` view;
    scanning into such a store failed. Whatever is missing is added, views that differ are
    recreated; no row is touched. On a store already in shape it changes nothing.
    """
    reference = sqlite3.connect(":memory:")
    for step in MIGRATIONS[:3]:
        reference.executescript(step)  # type: ignore[arg-type]
    wanted = reference.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    ).fetchall()
    have = {
        (t, n): " ".join(sql.split())
        for t, n, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        )
    }
    for kind, name, table, sql in wanted:
        current = have.get((kind, name))
        if kind == "table" and current is not None:
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({name})")}
            for _cid, column, ctype, notnull, default, _pk in reference.execute(
                f"PRAGMA table_info({name})"
            ):
                if column not in present:
                    extra = f" NOT NULL DEFAULT {default}" if notnull else ""
                    if not notnull and default is not None:
                        extra = f" DEFAULT {default}"
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ctype}{extra}")
        elif current is None:
            conn.execute(sql)
        elif kind == "view" and current != " ".join(sql.split()):
            conn.execute(f"DROP VIEW {name}")
            conn.execute(sql)
    reference.close()


# Version 5: one writer per mail source, and never two open versions of one message.
# `source_locks` holds the run scanning a source (auditor.store.writes.claim_source), so a
# cron run and a manual run cannot both store an account's first scan. Two runs at once
# before this version may have stored messages (and folders) twice: the extra open
# versions are closed where they started (gone_run = first_run: they count in no run, the
# first copy stays), then unique indexes make a second open version impossible.
_V5 = """
CREATE TABLE source_locks (
    source_id INTEGER PRIMARY KEY REFERENCES sources (id),
    run_id INTEGER NOT NULL REFERENCES runs (id),
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_started REAL,
    since TEXT NOT NULL
);

UPDATE message_versions SET gone_run = first_run
 WHERE gone_run IS NULL
   AND id NOT IN (SELECT min(id) FROM message_versions WHERE gone_run IS NULL
                   GROUP BY source_id, folder, uid);
CREATE UNIQUE INDEX message_versions_one_open ON message_versions (source_id, folder, uid)
    WHERE gone_run IS NULL;

UPDATE folder_versions SET gone_run = first_run
 WHERE gone_run IS NULL
   AND id NOT IN (SELECT min(id) FROM folder_versions WHERE gone_run IS NULL
                   GROUP BY source_id, name);
CREATE UNIQUE INDEX folder_versions_one_open ON folder_versions (source_id, name)
    WHERE gone_run IS NULL;
"""

# Version 6: which machine a host row is, and whether it is a virtual one. `identifiers`
# (JSON list of "<kind>:<digest>", auditor.collect.host.identity) let a scan store each
# machine once per run, however many sources describe it; `virtualization` names the
# hypervisor of a virtual machine (its disk type is then unknown); `collected_at` says when
# the facts were read (an inventory file's generated_at). Older rows keep NULL and '[]'.
_V6 = """
ALTER TABLE host_facts ADD COLUMN virtualization TEXT;
ALTER TABLE host_facts ADD COLUMN identifiers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE host_facts ADD COLUMN collected_at TEXT;

DROP VIEW latest_hosts;
DROP VIEW hosts;
CREATE VIEW hosts AS
    SELECT h.run_id, h.source, h.hostname, h.os_name, h.os_version, h.os_release,
           h.cpu_model, h.cpu_cores_physical, h.cpu_cores_logical, h.ram_bytes, h.boot_time,
           h.battery_present, h.battery_percent,
           sd.total_bytes AS system_disk_bytes, sd.used_bytes AS system_disk_used_bytes,
           CASE WHEN sd.total_bytes > 0
                THEN round(100.0 * sd.used_bytes / sd.total_bytes, 1) END
               AS system_disk_used_percent,
           sd.rotational AS system_disk_rotational,
           h.vendor, h.model, h.chassis, h.bios_vendor, h.bios_version, h.bios_date,
           h.cpu_launch_year, h.age_years, h.age_basis, h.uefi, h.secure_boot, h.tpm_version,
           h.os_product, h.os_label, h.os_eol, h.os_supported, h.os_days_left,
           h.os_support_source, h.win11_ready, h.win11_blockers, h.av_protected,
           (SELECT min(b.health_percent) FROM battery_facts b WHERE b.host_fact_id = h.id)
               AS battery_health_percent,
           h.virtualization, h.collected_at
    FROM host_facts h
    LEFT JOIN disk_facts sd ON sd.host_fact_id = h.id AND sd.is_system = 1;
CREATE VIEW latest_hosts AS SELECT * FROM hosts WHERE run_id = (SELECT id FROM latest_run_id);
"""

# Version 7: the journal of `auditor clean` (auditor.clean.journal). A clean run acts on the
# findings of one scan run (`scan_run`) for one selection of options (`selection`, JSON: the
# same command run again resumes the same clean run); each message it touches goes
# planned -> saved (whole copy in the local backup, its SHA-256) -> acting -> done ->
# verified, or skipped (changed or gone first) / restored (by --undo).
_V7 = """
CREATE TABLE clean_runs (
    id INTEGER PRIMARY KEY,
    scan_run INTEGER NOT NULL REFERENCES runs (id),
    selection TEXT NOT NULL,
    archive_dir TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running'
);
CREATE INDEX clean_runs_selection ON clean_runs (selection);

CREATE TABLE clean_items (
    id INTEGER PRIMARY KEY,
    clean_run INTEGER NOT NULL REFERENCES clean_runs (id),
    rule_id TEXT NOT NULL,
    action TEXT NOT NULL,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER,
    uid INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    message_id TEXT,
    target TEXT,
    state TEXT NOT NULL DEFAULT 'planned',
    sha256 TEXT,
    flags TEXT,
    internal_date TEXT,
    gm_msgid INTEGER,
    backup_path TEXT,
    backup_offset INTEGER,
    backup_length INTEGER,
    note TEXT,
    UNIQUE (clean_run, account, folder, uid)
);
CREATE INDEX clean_items_state ON clean_items (clean_run, state);
CREATE INDEX clean_items_backup ON clean_items (backup_path);

CREATE TABLE clean_unsubscribes (
    clean_run INTEGER NOT NULL REFERENCES clean_runs (id),
    account TEXT NOT NULL,
    sender TEXT NOT NULL,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'planned',
    note TEXT,
    PRIMARY KEY (clean_run, account, sender)
);
"""

# Version 8: facts written once. `finished_runs` is the one definition of a run whose facts
# can be read (complete, or partial with what it could read); `latest_run_id`, trends, rule
# reuse, ECO002 and `auditor clean` all read it. `hosts.device_kind` ('laptop', 'desktop' or
# NULL) is the one definition of a portable machine: a chassis that says so, else a battery.
_V8 = """
CREATE VIEW finished_runs AS
    SELECT * FROM runs WHERE status IN ('complete', 'partial');

-- the latest_* views name latest_run_id, which SQLite resolves when they are read
DROP VIEW latest_run_id;
CREATE VIEW latest_run_id AS SELECT max(id) AS id FROM finished_runs;

DROP VIEW latest_hosts;
DROP VIEW hosts;
CREATE VIEW hosts AS
    SELECT h.run_id, h.source, h.hostname, h.os_name, h.os_version, h.os_release,
           h.cpu_model, h.cpu_cores_physical, h.cpu_cores_logical, h.ram_bytes, h.boot_time,
           h.battery_present, h.battery_percent,
           sd.total_bytes AS system_disk_bytes, sd.used_bytes AS system_disk_used_bytes,
           CASE WHEN sd.total_bytes > 0
                THEN round(100.0 * sd.used_bytes / sd.total_bytes, 1) END
               AS system_disk_used_percent,
           sd.rotational AS system_disk_rotational,
           h.vendor, h.model, h.chassis, h.bios_vendor, h.bios_version, h.bios_date,
           h.cpu_launch_year, h.age_years, h.age_basis, h.uefi, h.secure_boot, h.tpm_version,
           h.os_product, h.os_label, h.os_eol, h.os_supported, h.os_days_left,
           h.os_support_source, h.win11_ready, h.win11_blockers, h.av_protected,
           (SELECT min(b.health_percent) FROM battery_facts b WHERE b.host_fact_id = h.id)
               AS battery_health_percent,
           h.virtualization, h.collected_at,
           CASE WHEN h.chassis = 'laptop' OR (h.chassis IS NULL AND h.battery_present)
                THEN 'laptop' WHEN h.chassis = 'desktop' THEN 'desktop' END AS device_kind
    FROM host_facts h
    LEFT JOIN disk_facts sd ON sd.host_fact_id = h.id AND sd.is_system = 1;
CREATE VIEW latest_hosts AS SELECT * FROM hosts WHERE run_id = (SELECT id FROM latest_run_id);
"""

# Version 9: speed that does not fade with history. `run_indicators` holds each run's
# indicators, written when the run ends (auditor.store.indicators; source_id 0 is the run as
# a whole, others one mail source each), so trends read ten small rows instead of counting
# every earlier run's messages; runs that ended before are backfilled here, in the same
# transaction. `local_files` is what the last scan of an mbox file saw (size, mtime, inode,
# the key its next message gets, a digest of the bytes just before its end), so a rescan
# skips an unchanged file and reads only the tail a Thunderbird append added. Host rows
# are found by run through an index (trends read them for every earlier run).
_V9_TABLES = """
CREATE TABLE run_indicators (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    source_id INTEGER NOT NULL,
    messages INTEGER,
    mailbox_bytes INTEGER,
    heavy_attachments INTEGER,
    unread_newsletters INTEGER,
    unprotected_machines INTEGER,
    unsupported_os INTEGER,
    findings INTEGER,
    hosts INTEGER,
    PRIMARY KEY (run_id, source_id)
);

CREATE TABLE local_files (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    folder TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    next_key INTEGER NOT NULL,
    tail_digest TEXT NOT NULL,
    PRIMARY KEY (source_id, folder)
);

CREATE INDEX host_facts_run ON host_facts (run_id);
"""


def split_statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, one by one (sqlite3.complete_statement decides
    where one ends, so a `;` inside a string or a trigger body does not split it)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                yield pending
            pending = ""


def _v9(conn: sqlite3.Connection) -> None:
    from auditor.store.indicators import backfill

    for statement in split_statements(_V9_TABLES):
        conn.execute(statement)
    backfill(conn)


# Version 10: machines read from other tools' inventories (GLPI Agent, FusionInventory, OCS).
# `av_checked` is 0 when the file's format carries no antivirus products (OCS Inventory): the
# antivirus rules then say nothing instead of "no antivirus" (NULL, older rows: checked);
# `owner` is the owner or location the inventory tool recorded (its TAG); `verdict` is
# `advise`'s verdict for the default needs (keep, upgrade, free-os, refurbished, new), for
# the report's fleet table.
_V10 = """
ALTER TABLE host_facts ADD COLUMN av_checked INTEGER;
ALTER TABLE host_facts ADD COLUMN owner TEXT;
ALTER TABLE host_facts ADD COLUMN verdict TEXT;

DROP VIEW latest_hosts;
DROP VIEW hosts;
CREATE VIEW hosts AS
    SELECT h.run_id, h.source, h.hostname, h.os_name, h.os_version, h.os_release,
           h.cpu_model, h.cpu_cores_physical, h.cpu_cores_logical, h.ram_bytes, h.boot_time,
           h.battery_present, h.battery_percent,
           sd.total_bytes AS system_disk_bytes, sd.used_bytes AS system_disk_used_bytes,
           CASE WHEN sd.total_bytes > 0
                THEN round(100.0 * sd.used_bytes / sd.total_bytes, 1) END
               AS system_disk_used_percent,
           sd.rotational AS system_disk_rotational,
           h.vendor, h.model, h.chassis, h.bios_vendor, h.bios_version, h.bios_date,
           h.cpu_launch_year, h.age_years, h.age_basis, h.uefi, h.secure_boot, h.tpm_version,
           h.os_product, h.os_label, h.os_eol, h.os_supported, h.os_days_left,
           h.os_support_source, h.win11_ready, h.win11_blockers, h.av_protected,
           (SELECT min(b.health_percent) FROM battery_facts b WHERE b.host_fact_id = h.id)
               AS battery_health_percent,
           h.virtualization, h.collected_at, h.av_checked, h.owner, h.verdict,
           CASE WHEN h.chassis = 'laptop' OR (h.chassis IS NULL AND h.battery_present)
                THEN 'laptop' WHEN h.chassis = 'desktop' THEN 'desktop' END AS device_kind
    FROM host_facts h
    LEFT JOIN disk_facts sd ON sd.host_fact_id = h.id AND sd.is_system = 1;
CREATE VIEW latest_hosts AS SELECT * FROM hosts WHERE run_id = (SELECT id FROM latest_run_id);
"""


# Why a message is malformed (issue 14): a JSON list of reason codes, each explained in the
# catalogue under source.mail.malformed.<code>; NULL for a message read cleanly or stored
# before this version.
_V11 = """
ALTER TABLE message_versions ADD COLUMN malformed_reasons TEXT;

DROP VIEW latest_messages;
DROP VIEW messages;
CREATE VIEW messages AS
    SELECT rs.run_id, s.account, m.folder, f.special_use,
           m.uid, m.message_id, m.internal_date, m.size_bytes, m.seen, m.flags,
           m.from_addr, m.from_domain, m.subject, m.list_id, m.list_unsubscribe,
           m.one_click_unsubscribe, m.precedence, m.auto_submitted, m.malformed,
           m.id AS message_version_id, m.malformed_reasons
    FROM run_sources rs
    JOIN sources s ON s.id = rs.source_id
    JOIN message_versions m ON m.source_id = rs.source_id
     AND m.first_run <= rs.run_id AND (m.gone_run IS NULL OR m.gone_run > rs.run_id)
    LEFT JOIN folder_versions f ON f.source_id = m.source_id AND f.name = m.folder
     AND f.first_run <= rs.run_id AND (f.gone_run IS NULL OR f.gone_run > rs.run_id);
CREATE VIEW latest_messages AS
    SELECT * FROM messages WHERE run_id = (SELECT id FROM latest_run_id);
"""


# Attachments measured during the scan (`auditor scan --compress-attachments`, issue 17):
# the light size `auditor compress --for email` reached on the attachment's own bytes. Keyed
# by the message's identity (account, folder, UID, fingerprint: what a message version
# denotes, kept when only its flags change and a new version row is written) and the part,
# so an attachment measured once is never fetched again. status: smaller (light_bytes is
# the light copy's size), kept (no saving worth having; light_bytes = the original's),
# skipped (could not be read as a photo or PDF; light_bytes = the original's).
# original_bytes is the decoded part's exact size (size_bytes is read from BODYSTRUCTURE's
# encoded size, off by a few bytes), so saving_bytes is exact.
_V12 = """
CREATE TABLE attachment_measures (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    folder TEXT NOT NULL,
    uid INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL,
    part TEXT NOT NULL,
    status TEXT NOT NULL,
    original_bytes INTEGER NOT NULL,
    light_bytes INTEGER NOT NULL,
    measured_run INTEGER NOT NULL,
    PRIMARY KEY (source_id, folder, uid, fingerprint, part)
);
CREATE INDEX attachment_measures_run ON attachment_measures (measured_run);

DROP VIEW latest_attachments;
DROP VIEW attachments;
CREATE VIEW attachments AS
    SELECT m.run_id, m.account, m.folder, m.special_use, m.uid, a.part, a.filename,
           a.content_type, a.encoded_bytes, a.size_bytes, m.internal_date, m.subject,
           m.from_addr, am.light_bytes,
           am.original_bytes - am.light_bytes AS saving_bytes, am.status AS measure_status
    FROM messages m
    JOIN attachment_versions a ON a.message_version_id = m.message_version_id
    JOIN message_versions mv ON mv.id = m.message_version_id
    LEFT JOIN attachment_measures am ON am.source_id = mv.source_id AND am.folder = mv.folder
     AND am.uid = mv.uid AND am.fingerprint = mv.fingerprint AND am.part = a.part;
CREATE VIEW latest_attachments AS
    SELECT * FROM attachments WHERE run_id = (SELECT id FROM latest_run_id);
"""


# Version 13: a report that stays instant as the mailbox grows. Each mail source's row in
# run_indicators also holds what the report's mailbox table shows (unread, malformed,
# folders holding a message, attachments and their bytes), written when the run's mail has
# been read (auditor.store.indicators); rows of earlier runs keep them empty and are
# counted when read. The index walks a folder's messages oldest first, so the N oldest read
# messages of a folder (the old-mail finding's overlap in the report, the clean plan) are
# found without sorting the folder. internal_date is ISO 8601 UTC text of one shape, so its
# text order is its time order.
_V13 = """
ALTER TABLE run_indicators ADD COLUMN unread INTEGER;
ALTER TABLE run_indicators ADD COLUMN malformed INTEGER;
ALTER TABLE run_indicators ADD COLUMN folders INTEGER;
ALTER TABLE run_indicators ADD COLUMN attachments INTEGER;
ALTER TABLE run_indicators ADD COLUMN attachment_bytes INTEGER;
CREATE INDEX message_versions_dated ON message_versions (source_id, folder, internal_date);
"""


# MIGRATIONS[n] takes a store from version n to n + 1: an SQL script, or a function for a
# step that must look at the store first.
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    _V1,
    _V2,
    _V3,
    _repair_v3,
    _V5,
    _V6,
    _V7,
    _V8,
    _v9,
    _V10,
    _V11,
    _V12,
    _V13,
]
assert len(MIGRATIONS) == SCHEMA_VERSION
