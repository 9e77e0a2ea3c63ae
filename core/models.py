"""Core has no tables of its own yet; the module exists so that post_migrate reaches CoreConfig
(Django only signals apps with a models module), which installs the row-level-security policies."""
