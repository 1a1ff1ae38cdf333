"""The Alembic environment of ``asset-catalog migrate`` (its ``script_location``)."""
