"""``python -m schoolsync``."""

from schoolsync.cli import main

main()
