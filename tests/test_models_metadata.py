"""The tables' classes and the migrations agree (what ``alembic check`` asks): a database upgraded by the
migrations has exactly the tables, columns and indexes of ``Base.metadata``, which every table shares
(``engine.models``, the people tables of ``engine.people_models``, the stock ledger); and ``engine.models``
keeps exporting the people tables it used to define."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import engine.connectors.stock  # noqa: F401 (its table joins Base.metadata)
from engine import models, people_models


def test_the_migrated_schema_matches_the_models(app):
    database = app.extensions["liucheng_db"]
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), models.Base.metadata)
    assert differences == []


def test_every_table_shares_one_metadata():
    assert people_models.Base is models.Base
    tables = set(models.Base.metadata.tables)
    assert {"users", "roles", "memberships", "user_attributes", "api_tokens", "login_attempts", "instances",
            "human_tasks", "attachments", "stock_movements"} <= tables


def test_the_people_tables_are_still_imported_from_engine_models():
    for name in people_models.__all__:
        assert getattr(models, name) is getattr(people_models, name)
        assert name in models.__all__
