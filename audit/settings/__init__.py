"""Settings: the audit config, validated once, at the boundary (every rule that depends on the config alone)."""
