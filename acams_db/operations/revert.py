"""`revert`: a new migration holding the reverse SQL of an applied one, reviewed as `review` would."""

from __future__ import annotations

from dataclasses import dataclass

from acams_db.migrations import review
from acams_db.migrations.revert import CreatedRevert, create_revert
from acams_db.migrations.review import MigrationReview
from acams_db.runtime.database import Database
from acams_db.settings import Settings


@dataclass(frozen=True)
class ReviewedRevert:
    created: CreatedRevert
    review: MigrationReview


def revert(settings: Settings, database: Database, name: str) -> ReviewedRevert:
    """Write `<now>_revert_NAME` with the reverse SQL of migration `name` and review it; apply nothing."""
    created = create_revert(settings, database, name)
    (reviewed,) = review.review_migrations(settings, database, [created.folder.name])
    return ReviewedRevert(created, reviewed)
