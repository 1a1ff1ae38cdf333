"""SQL repositories on SQLAlchemy Core: one schema, one query module, thin dialect classes."""
