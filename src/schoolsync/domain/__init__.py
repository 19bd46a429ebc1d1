"""Domain model of the register: records, civic numbers and sync issues."""
