"""Report dicts the report tests share: one with every section, one with hostile text
wherever a mailbox or a machine gives text, and an empty one."""

from __future__ import annotations

NASTY_SUBJECT = "[bold]x[/bold] <script>"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
ATTR = '" onmouseover="alert(1)'


def full_report(language: str = "en") -> dict:
    return {
        "schema_version": 1,
        "tool": {"name": "auditor", "version": "0.1.0"},
        "language": language,
        "generated_at": "2026-11-27T16:00:00+00:00",
        "run": {
            "id": 3,
            "started_at": "2026-11-27T15:58:00+00:00",
            "finished_at": "2026-11-27T16:00:00+00:00",
            "status": "partial",
            "sources": [
                {"kind": "demo", "name": "demo", "status": "ok", "error": None},
                {
                    "kind": "mbox",
                    "name": "archives-2019.mbox",
                    "status": "failed",
                    "error": "not an mbox file (no 'From ' line at the start)",
                },
            ],
            "errors": ["INBOX: 1 malformed message skipped"],
        },
        "score": 72,
        "hosts": [
            {
                "hostname": "pc-accueil",
                "os_name": "Linux",
                "os_version": "Debian GNU/Linux 12 (bookworm)",
                "cpu_model": "Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz",
                "cpu_cores_logical": 4,
                "ram_bytes": 8589934592,
                "battery_percent": None,
                "disks": [
                    {
                        "mountpoint": "/",
                        "device": "/dev/sda1",
                        "total_bytes": 500107862016,
                        "used_bytes": 430000000000,
                        "rotational": True,
                        "is_system": True,
                    }
                ],
            }
        ],
        "mailboxes": [
            {
                "account": "demo",
                "folders": 3,
                "messages": 150,
                "size_bytes": 23456789,
                "attachments": 40,
                "attachment_bytes": 20000000,
                "unread": 60,
                "malformed": 1,
                "skipped": 0,
            }
        ],
        "findings": [
            {
                "rule_id": "MAIL001",
                "category": "mail",
                "severity": "medium",
                "effort": "minutes",
                "gesture": "light-emails",
                "title": "Heavy attachments",
                "why": "Large attachments fill the mailbox and are stored several times.",
                "how": "Save the files in the shared drive,\nthen delete the messages.",
                "count": 7,
                "evidence": [
                    {
                        "folder": "INBOX",
                        "subject": NASTY_SUBJECT if i == 0 else f"Photos AG {i}",
                        "date": f"2024-0{i + 1}-15T09:30:00+00:00",
                        "size_bytes": 6000000 + i,
                    }
                    for i in range(7)
                ],
                "columns": {
                    "folder": "Folder",
                    "subject": "Subject",
                    "date": "Date",
                    "size_bytes": "Size",
                },
                "bytes_reclaimable": 41000000,
                "co2e_kg_per_year_low": 0.0096,
                "co2e_kg_per_year_high": 0.08,
                "minutes": 10,
            },
            {
                "rule_id": "MAIL004",
                "category": "mail",
                "severity": "low",
                "effort": "minutes",
                "gesture": "unsubscribe",
                "title": "Newsletters never opened",
                "why": "Unread newsletters keep arriving.",
                "how": "Use the unsubscribe link.",
                "count": 2,
                "evidence": [{"list_id": "news.example.org", "messages": 40, "unread": 40}],
                "bytes_reclaimable": None,
                "co2e_kg_per_year_low": None,
                "co2e_kg_per_year_high": None,
                "minutes": 5,
            },
            {
                "rule_id": "SEC001",
                "category": "security",
                "severity": "critical",
                "effort": "hours",
                "gesture": "passwords",
                "title": "Password sent by e-mail",
                "why": "Anyone reading the mailbox gets the password.",
                "how": "Change the password and delete the message.",
                "count": 1,
                "evidence": [{"folder": "Sent", "subject": "mot de passe wifi"}],
                "bytes_reclaimable": None,
                "co2e_kg_per_year_low": None,
                "co2e_kg_per_year_high": None,
                "minutes": None,
            },
            {
                "rule_id": "HW003",
                "category": "hardware",
                "severity": "high",
                "effort": "days",
                "gesture": "ssd",
                "title": "System on a hard disk",
                "why": "A hard disk makes an old PC slow.",
                "how": "Replace the disk by an SSD.",
                "count": 1,
                "evidence": [{"hostname": "pc-accueil", "mountpoint": "/", "rotational": True}],
                "bytes_reclaimable": None,
                "co2e_kg_per_year_low": 30.0,
                "co2e_kg_per_year_high": 30.0,
                "minutes": None,
            },
        ],
        "plan": {"urgent": ["SEC001"], "quick_wins": ["MAIL004", "MAIL001"], "to_plan": ["HW003"]},
        "figures": [
            {
                "id": "storage_gb_year_low",
                "label": "Storing 1 GB for a year in the cloud",
                "source": "ADEME Impact CO2 (NégaOctet), 2023",
                "url": "https://impactco2.fr/",
            }
        ],
    }


def hostile_report(language: str = "en") -> dict:
    """A report with every section, hostile text wherever a mailbox or machine gives text."""
    return {
        "schema_version": 1,
        "tool": {"name": "auditor", "version": "0.1.0"},
        "language": language,
        "generated_at": "2026-11-27T16:00:00+00:00",
        "run": {
            "id": 3,
            "started_at": "2026-11-27T15:58:00+00:00",
            "finished_at": "2026-11-27T16:00:00+00:00",
            "status": "partial",
            "sources": [
                {"kind": "demo", "name": "demo", "status": "ok", "error": None},
                {
                    "kind": "mbox",
                    "name": f"archives{SCRIPT}.mbox",
                    "status": "failed",
                    "error": f"not an mbox file {IMG}",
                },
            ],
            "errors": [f"INBOX: 1 malformed message skipped {SCRIPT}"],
        },
        "score": 72,
        "hosts": [
            {
                "hostname": f"pc-{IMG}",
                "os_name": "Linux",
                "os_version": "Debian GNU/Linux 12 (bookworm)",
                "cpu_model": f"Intel i5 {ATTR}",
                "cpu_cores_logical": 4,
                "ram_bytes": 8589934592,
                "battery_percent": 80,
                "disks": [
                    {
                        "mountpoint": "/",
                        "device": "/dev/sda1",
                        "total_bytes": 500107862016,
                        "used_bytes": 430000000000,
                        "rotational": True,
                        "is_system": True,
                    }
                ],
            },
            {
                "hostname": "pc-bureau",
                "os_name": "Windows",
                "os_version": "Windows 11 Pro",
                "cpu_model": None,
                "cpu_cores_logical": None,
                "ram_bytes": None,
                "battery_percent": None,
                "disks": [],
            },
        ],
        "mailboxes": [
            {
                "account": f"contact{SCRIPT}",
                "folders": 3,
                "messages": 1234,
                "size_bytes": 23456789,
                "attachments": 40,
                "attachment_bytes": 20000000,
                "unread": 60,
                "malformed": 1,
                "skipped": 0,
            },
            {
                "account": "big",
                "folders": 1,
                "messages": 1,
                "size_bytes": 1_234_500_000_000_000_000,
                "attachments": 0,
                "attachment_bytes": 0,
                "unread": 0,
                "malformed": 0,
                "skipped": 0,
            },
        ],
        "findings": [
            {
                "rule_id": "MAIL001",
                "category": "mail",
                "severity": "medium",
                "effort": "minutes",
                "title": "Heavy attachments",
                "why": "Large attachments fill the mailbox.",
                "how": "Save the files in the shared drive,\nthen delete the messages.",
                "count": 7,
                "evidence": [
                    {
                        "folder": f"INBOX/{IMG}" if i == 0 else "INBOX",
                        "subject": SCRIPT if i == 0 else IMG if i == 1 else f"Photos AG {i}",
                        "filename": f"{ATTR}.pdf",
                        "date": f"2024-0{i + 1}-15T09:30:00+00:00",
                        "size_bytes": 6000000 + i,
                    }
                    for i in range(7)
                ],
                "bytes_reclaimable": 41000000,
                "co2e_kg_per_year_low": 0.0096,
                "co2e_kg_per_year_high": 0.08,
                "minutes": 10,
            },
            {
                "rule_id": "MAIL004",
                "category": "mail",
                "severity": "low",
                "effort": "minutes",
                "title": "Newsletters never opened",
                "why": "Unread newsletters keep arriving.",
                "how": "Use the unsubscribe link.",
                "count": 2,
                "evidence": [{"list_id": "news.example.org", "messages": 40, "unread": 40}],
                "bytes_reclaimable": 2000000,
                "minutes": 5,
            },
            {
                "rule_id": "SEC001",
                "category": "security",
                "severity": "critical",
                "effort": "hours",
                "title": "No active antivirus",
                "why": "Anyone can infect the machine.",
                "how": "Turn Windows Defender on.",
                "count": 1,
                "evidence": [{"hostname": f"pc-{IMG}", "product": None}],
                "bytes_reclaimable": None,
                "minutes": None,
            },
            {
                "rule_id": "HW003",
                "category": "hardware",
                "severity": "high",
                "effort": "days",
                "title": "System on a hard disk",
                "why": "A hard disk makes an old PC slow.",
                "how": "Replace the disk by an SSD.",
                "count": 1,
                "evidence": [{"hostname": f"pc-{IMG}", "mountpoint": "/", "rotational": True}],
                "bytes_reclaimable": None,
                "co2e_kg_per_year_low": 30.0,
                "co2e_kg_per_year_high": 30.0,
                "minutes": None,
            },
        ],
        "plan": {"urgent": ["SEC001"], "quick_wins": ["MAIL004", "MAIL001"], "to_plan": ["HW003"]},
        "figures": [
            {
                "id": "storage_gb_year_low",
                "label": "Storing 1 GB for a year in the cloud",
                "source": "ADEME Impact CO2 (NégaOctet), 2023",
                "url": "https://impactco2.fr/",
            },
            {"id": "bad", "label": "Bad link", "source": "x", "url": "javascript:alert(1)"},
        ],
        "help": [
            {"name": "Repair Cafés", "what": "volunteers", "url": "https://www.repaircafe.org/"},
            {"name": "Evil", "what": "not a link", "url": "javascript:alert(2)"},
        ],
        "trend": {
            "current": {"score": 72, "mailbox_bytes": 23456789},
            "previous": {
                "run_id": 2,
                "started_at": "2026-11-01T10:00:00+00:00",
                "indicators": {"score": 60, "mailbox_bytes": 30000000},
            },
            "month_ago": None,
            "series": [
                {
                    "run_id": 1,
                    "started_at": "2026-10-01T10:00:00+00:00",
                    "indicators": {"score": 50},
                },
                {
                    "run_id": 2,
                    "started_at": "2026-11-01T10:00:00+00:00",
                    "indicators": {"score": 60},
                },
                {
                    "run_id": 3,
                    "started_at": "2026-11-27T15:58:00+00:00",
                    "indicators": {"score": 72},
                },
            ],
        },
    }


def empty_report(language: str = "fr") -> dict:
    return {
        "schema_version": 1,
        "tool": {"name": "auditor", "version": "0.1.0"},
        "language": language,
        "generated_at": "2026-11-27T16:00:00+00:00",
        "run": {
            "id": 1,
            "started_at": "2026-11-27T16:00:00+00:00",
            "finished_at": "2026-11-27T16:00:01+00:00",
            "status": "complete",
            "sources": [],
            "errors": [],
        },
        "score": 100,
        "hosts": [],
        "mailboxes": [],
        "findings": [],
        "plan": {"urgent": [], "quick_wins": [], "to_plan": []},
        "figures": [],
    }
