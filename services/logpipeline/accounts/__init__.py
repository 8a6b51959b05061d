"""Who may use the dashboard: roles, password hashes and the accounts table in the metrics store."""
