"""Reading FusionInventory Agent's XML inventories (`fusioninventory-agent --local FOLDER`
writes one `<deviceid>.ocs` file per machine; GLPI Agent writes the same XML when asked).

The sections are GLPI's (glpi_json.py), in upper case under <REQUEST><CONTENT>: they are
turned into GLPI's JSON shape and read there. The administrator's tag, when the agent was
given one (`--tag`), is <ACCOUNTINFO><KEYNAME>TAG</KEYNAME><KEYVALUE>...</KEYVALUE>.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from auditor.inventory.agents import machine, text, xml_to_sections
from auditor.inventory.auditor_format import MachineInventory
from auditor.inventory.glpi_json import values_from_sections


def account_tag(root: Element) -> str | None:
    """The TAG of <ACCOUNTINFO> (both agents write the administrator's tag there)."""
    for info in root.iterfind("CONTENT/ACCOUNTINFO"):
        if (info.findtext("KEYNAME") or "").strip().upper() == "TAG":
            return text(info.findtext("KEYVALUE"))
    return None


def looks_like_fusioninventory(root: Element) -> bool:
    """FusionInventory's (or GLPI Agent's) XML: its VERSIONCLIENT names it, or it has the
    OPERATINGSYSTEM section the OCS agents never write."""
    client = (root.findtext("CONTENT/VERSIONCLIENT") or "").strip().casefold()
    if client.startswith(("fusioninventory", "glpi-agent", "glpi agent")):
        return True
    return not client.startswith("ocs") and root.find("CONTENT/OPERATINGSYSTEM") is not None


def read_fusioninventory_xml(root: Element, source: str, modified: str | None) -> MachineInventory:
    values = values_from_sections(
        xml_to_sections(root), source, "fusioninventory", account_tag(root)
    )
    values.collected_at = values.collected_at or modified
    return machine(values)
