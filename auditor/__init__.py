"""auditor: mail-hygiene and IT-asset audit for the small networks of associations."""

__version__ = "0.1.0"
