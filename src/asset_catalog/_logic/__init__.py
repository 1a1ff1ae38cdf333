"""The catalog's own logic, written once and shared by every facade.

Each module is one concern; its functions take the catalog (as a :class:`Context`) and
validated values, and talk to the repository and storage protocols only:

* ``lifecycle``: every state change of a storage object and its asset, and the one step
  that removes a blob before its row moves on (ingest's reserve/publish/abandon, delete,
  ``reconcile``, ``purge``);
* ``ingest``: the ingest protocol (known key, pending row, streamed write, one publishing
  transaction), with ``streams`` (head and meter) and ``keys`` (storage keys);
* ``events``: every audit event the catalog records, and how each is dated;
* ``links``, ``queries``, ``downloads``: linking to messages, reads and cursors, URLs and
  catalog-signed downloads (``headers``: the safe response headers);
* ``verify``: the read-only audit, apart from everything that changes state.
"""
