# SPDX-License-Identifier: EUPL-1.2
"""The store tests use the PostgreSQL fixtures of tests/conftest.py (postgres_dsn, reset_postgres, fresh_database)."""
