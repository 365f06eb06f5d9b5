"""Fleet inventory files, one module per format.

An association's machines are rarely on one network the auditor can reach, so each one is
inventoried where it stands (`auditor inventory` on a USB stick) and the files are brought
together later. Two formats come out of the same records (auditor.collect.host.records):

- auditor_format: auditor's own JSON document (`auditor_inventory`), lossless, read back by
  `read_inventory` (through `read.read_inventory_folder`) when a scan is given `--inventory FOLDER`;
  `write_inventory` publishes either document. docs/inventory.md describes the format.
- glpi: the GLPI exporter (`glpi_inventory`), the format GLPI's agents send.

Importers of other tools' inventories belong beside them, one module each.
"""
