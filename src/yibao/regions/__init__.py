"""Shipped region policy files (package data), one YAML file per region id: ``<province>-<city>.yaml``."""
