-- The store schema of the release before schema v5 (commit fa94d10), as it creates a new
-- store: PRAGMA user_version = 4. Kept to check that such a store still opens.
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
, vendor TEXT, model TEXT, chassis TEXT, bios_vendor TEXT, bios_version TEXT, bios_date TEXT, cpu_launch_year INTEGER, age_years REAL, age_basis TEXT, uefi INTEGER, secure_boot INTEGER, tpm_version TEXT, os_product TEXT, os_label TEXT, os_eol TEXT, os_supported INTEGER, os_days_left INTEGER, os_support_source TEXT, win11_ready INTEGER, win11_blockers TEXT, av_protected INTEGER, probe_errors TEXT NOT NULL DEFAULT '[]');
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
    evidence TEXT NOT NULL, co2e_kg_avoided_low REAL, co2e_kg_avoided_high REAL, euros_low REAL, euros_high REAL,
    PRIMARY KEY (run_id, rule_id)
);
CREATE TABLE rule_runs (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    rule_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (run_id, rule_id)
);
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
CREATE VIEW quotas AS
    SELECT q.run_id, s.account, q.root, q.used_bytes, q.limit_bytes,
           CASE WHEN q.limit_bytes > 0
                THEN round(100.0 * q.used_bytes / q.limit_bytes, 1) END AS used_percent,
           q.used_messages, q.limit_messages,
           CASE WHEN q.limit_messages > 0
                THEN round(100.0 * q.used_messages / q.limit_messages, 1) END
               AS used_messages_percent
    FROM quota_facts q JOIN sources s ON s.id = q.source_id;
CREATE VIEW latest_runs AS SELECT * FROM runs WHERE id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_folders AS SELECT * FROM folders WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_messages AS
    SELECT * FROM messages WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_attachments AS
    SELECT * FROM attachments WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_disks AS SELECT * FROM disks WHERE run_id = (SELECT id FROM latest_run_id);
CREATE VIEW latest_quotas AS SELECT * FROM quotas WHERE run_id = (SELECT id FROM latest_run_id);
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
CREATE VIEW findings AS
    SELECT run_id, rule_id, category, severity, effort, gesture, plan_group, plan_rank,
           count, bytes_reclaimable, co2e_kg_per_year_low, co2e_kg_per_year_high, minutes,
           evidence, co2e_kg_avoided_low, co2e_kg_avoided_high, euros_low, euros_high
    FROM finding_rows;
CREATE VIEW latest_findings AS
    SELECT * FROM findings WHERE run_id = (SELECT id FROM latest_run_id);
