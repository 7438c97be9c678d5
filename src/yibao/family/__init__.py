"""Family: relations between insured people, mutual-aid grants (家庭共济), 亲情账户 proxy bindings."""
