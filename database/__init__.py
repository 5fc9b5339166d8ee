"""The database layer shared by :mod:`registry` and :mod:`signatures`, below both: the
declarative ``Base`` (``base``), engines and sessions for SQLite and PostgreSQL
(``engine``) and the Alembic history of every table (``migrate``, ``migrations/``).
Only the migration environment knows the model modules (to see every table); nothing
here is imported back by them except ``base``.
"""
