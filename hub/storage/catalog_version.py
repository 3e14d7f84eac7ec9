"""The catalog version: one counter that every catalog write bumps in its own transaction.

Replicas poll it (one single-row read) to notice that another replica changed the catalog.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.storage.tables import CatalogVersionRow

_ROW = 1


async def bump_version(session: AsyncSession) -> int:
    """Count one more change, inside the caller's transaction; the new version."""
    statement = (
        update(CatalogVersionRow)
        .where(CatalogVersionRow.id == _ROW)
        .values(version=CatalogVersionRow.version + 1)
        .returning(CatalogVersionRow.version)
    )
    return int((await session.execute(statement)).scalar_one())


async def read_version(session: AsyncSession) -> int:
    return int((await session.scalars(select(CatalogVersionRow.version).where(CatalogVersionRow.id == _ROW))).one())
