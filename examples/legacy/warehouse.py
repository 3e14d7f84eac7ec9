"""The example's warehouse database: a SQLite file with products and stock, created on first run.

    python examples/legacy/warehouse.py data/legacy/warehouse.db

does nothing if the file exists already.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

SCHEMA = """
CREATE TABLE products (
    sku         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    unit_price  NUMERIC NOT NULL
);
CREATE TABLE stock (
    sku           TEXT PRIMARY KEY REFERENCES products (sku),
    on_hand       INTEGER NOT NULL,
    reorder_level INTEGER NOT NULL
);
"""

PRODUCTS = [
    ("BOLT-M6", "Hex bolt M6 x 30", "acme", 0.12),
    ("NUT-M6", "Hex nut M6", "acme", 0.05),
    ("DRILL-8", "HSS drill bit 8 mm", "globex", 4.90),
    ("SAW-300", "Hand saw 300 mm", "globex", 17.50),
]
STOCK = [("BOLT-M6", 1200, 500), ("NUT-M6", 150, 400), ("DRILL-8", 12, 20), ("SAW-300", 35, 10)]


def create(path: Path) -> bool:
    """Create and fill the database at `path`; False if it exists already."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", PRODUCTS)
        db.executemany("INSERT INTO stock VALUES (?, ?, ?)", STOCK)
    db.close()
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "data/legacy/warehouse.db")
    print(f"created {target}" if create(target) else f"{target} exists; left as it is")
