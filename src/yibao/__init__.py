"""yibao (医保): personal accounts, family mutual aid (家庭共济) and claim settlement.

Layout: ``policy`` (dated parameters), ``settlement`` (the pure calculation), ``ledger`` (double-entry
postings and invariants), ``storage`` (tables, migrations, unit of work), ``services`` (one function
per job), and the adapters ``gateway`` (NHSA interface), ``cases`` (scenario runner) and ``cli``.
"""

__version__ = "0.1.0"
