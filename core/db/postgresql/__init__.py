"""PostgreSQL with the tenant of the current scope applied to every statement (core.tenancy)."""
