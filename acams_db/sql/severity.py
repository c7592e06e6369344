"""How serious a finding is: one vocabulary for lint-migrations, review, revert and rollback."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"  # a lint finding that fails lint-migrations (and so deploy)
    DANGER = "danger"  # loses data, breaks running code, or can make the migration fail
    WARNING = "warning"  # holds long locks or cannot be checked; never fails the lint
