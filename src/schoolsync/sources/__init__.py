"""Sources: outside formats turned into one in-memory snapshot of plain records.

Sources know formats, not rules. Each maps its foreign errors to
:class:`schoolsync.errors.InputError`
with the file and place, and reports record-level problems as issues on the snapshot.
"""
