"""schoolsync: keeps a learning platform's directory in step with a Swedish school's register.

The register (SS 12000) and the timetable (Skola24/Novaschem) are read into a snapshot, compared
with the directory, planned by the rules of ``spec/RULES.md`` and applied in one transaction.
"""

__version__ = "0.1.0"
