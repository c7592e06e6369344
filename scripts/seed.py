"""Seed the question bank: `.venv/bin/python scripts/seed.py [--file F] [--prune] [--dry-run] [--json] [--env E]`.

The production entry point of the document's seed strategy; the same as
`acams-db seed` (and `make seed`), which see for the options.
"""

import sys

from acams_db.cli.main import main

if __name__ == "__main__":
    sys.argv[1:1] = ["seed"]
    main()
