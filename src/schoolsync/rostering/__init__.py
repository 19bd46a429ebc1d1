"""The directory for other platforms: OneRoster 1.2 and Microsoft SDS (pure: no database)."""
