"""The directory store: SQLAlchemy 2 tables, Alembic migrations, loading and bulk writing."""
