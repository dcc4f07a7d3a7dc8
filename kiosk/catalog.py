"""The service catalog: loading and validating bundles, applying them to the store, reading items.

A bundle is the JSON document described by ``resources/catalog.schema.json``. A bad bundle is
refused whole, with a message that names the item (by code) and the field, so an administrator can
fix it; the catalog already in the store keeps serving.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils

from kiosk import search
from kiosk.i18n import pick
from kiosk.resources import RESOURCES

SCHEMA_PATH = RESOURCES / "catalog.schema.json"
SAMPLE_CATALOG = RESOURCES / "catalog" / "sample-catalog.json"


class CatalogError(Exception):
    """A catalog bundle was refused; the message names the item and the field."""


@cache
def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> Any:
    """jsonschema: slow (~3 ms an item) but lists every error with its path, for the message."""
    import jsonschema  # imported lazily: ~60 ms we do not pay when the cache is already applied

    return jsonschema.Draft202012Validator(_schema())


def _inline_refs(schema: dict) -> dict:
    """The schema with every ``#/$defs/...`` reference replaced by a copy of its definition.

    fastjsonschema turns each $ref into a function call that formats the path of every array
    element ("data.items[17].guide...") before the call, error or not: half its time on a
    10,000-item bundle. Inlined, the path is only formatted when a check fails.
    """
    defs = schema.get("$defs", {})

    def inline(node: Any, expanding: frozenset[str] = frozenset()) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and ref not in expanding:
                inner = expanding | {ref}
                rest = {k: inline(v, inner) for k, v in node.items() if k != "$ref"}
                return {**inline(defs[ref.removeprefix("#/$defs/")], inner), **rest}
            return {k: inline(v, expanding) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v, expanding) for v in node]
        return node

    # $defs stays: a recursive definition is left as a reference, which still resolves.
    return {k: (v if k == "$defs" else inline(v)) for k, v in schema.items()}


@cache
def _fast_check() -> Any:
    """fastjsonschema compiles the schema to Python: ~50x faster than jsonschema, used to pass
    good bundles."""
    import fastjsonschema

    return fastjsonschema.compile(_inline_refs(_schema()))


def _where(bundle: dict, path: list[str | int]) -> str:
    """Say where an error is in words: 'item SCDJ-DJ-001, field guide.materials[2].name.en'."""
    if len(path) >= 2 and path[0] in ("items", "departments") and isinstance(path[1], int):
        kind = "item" if path[0] == "items" else "department"
        entries = bundle.get(path[0]) or []
        entry = entries[path[1]] if path[1] < len(entries) else {}
        label = entry.get("code") if isinstance(entry, dict) and entry.get("code") else f"#{path[1] + 1}"
        rest = path[2:]
        prefix = f"{kind} {label}"
    else:
        rest, prefix = path, "bundle"
    field = ""
    for part in rest:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return f"{prefix}, field {field}" if field else prefix


def validate_bundle(bundle: Any) -> None:
    """Raise CatalogError for the first problems found (schema, then cross-references)."""
    if not isinstance(bundle, dict):
        raise CatalogError("the catalog is not a JSON object")
    import fastjsonschema

    try:
        _fast_check()(bundle)
        errors = []
    except fastjsonschema.JsonSchemaException as fast_error:
        # A bad bundle is rare: take the slow validator's full list to name items and fields.
        errors = sorted(_validator().iter_errors(bundle), key=lambda e: list(e.absolute_path))
        if not errors:
            path = [int(p) if p.isdigit() else p for p in fast_error.path[1:]]
            raise CatalogError(f"catalog refused: {_where(bundle, path)}: {fast_error.message}") from None
    if errors:
        lines = [f"{_where(bundle, list(e.absolute_path))}: {e.message}" for e in errors[:10]]
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise CatalogError("catalog refused: " + "; ".join(lines) + more)
    departments = [d["code"] for d in bundle["departments"]]
    problems = []
    if len(set(departments)) != len(departments):
        dup = sorted({c for c in departments if departments.count(c) > 1})
        problems.append(f"department {dup[0]}, field code: used twice")
    seen: set[str] = set()
    for item in bundle["items"]:
        code = item["code"]
        if code in seen:
            problems.append(f"item {code}, field code: used twice")
        seen.add(code)
        if item["department"] not in departments:
            problems.append(f"item {code}, field department: unknown department {item['department']}")
        limit = item["guide"]["time_limit"]
        if limit["committed_days"] > limit["legal_days"]:
            problems.append(
                f"item {code}, field guide.time_limit.committed_days: "
                f"{limit['committed_days']} is longer than the legal limit {limit['legal_days']}"
            )
        if item["guide"]["fees"]["charged"] and not item["guide"]["fees"].get("items"):
            problems.append(f"item {code}, field guide.fees.items: charged but no fee listed")
    if problems:
        raise CatalogError("catalog refused: " + "; ".join(problems[:10]))


def parse_bundle(data: bytes | str) -> dict:
    """Parse and validate bundle text; CatalogError on anything wrong."""
    try:
        bundle = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CatalogError(f"catalog refused: not valid JSON ({exc})") from exc
    validate_bundle(bundle)
    return bundle


def load_bundle(path: Path | str) -> dict:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc.strerror}") from exc
    return parse_bundle(data)


def apply_bundle(db: sqlite_utils.Database, bundle: dict, *, source: str, validate: bool = True) -> None:
    """Replace the catalog in the store with ``bundle``, search index included, in one transaction.

    The previous version's bundle is kept (state 'previous') so it can be restored.
    """
    if validate:
        validate_bundle(bundle)
    write_prepared(db, prepare_bundle(bundle), source=source)


@dataclass(frozen=True)
class PreparedCatalog:
    """A bundle turned into rows, search index and kept copy, ready for one short transaction."""

    version: int
    published: str
    department_rows: list[tuple]
    item_rows: list[tuple]
    index: dict[str, object]
    kept: bytes


def prepare_bundle(bundle: dict, *, keep: bool = True) -> PreparedCatalog:
    """Everything apply_bundle computes before it takes the store's write lock, so a visitor
    filing meanwhile waits milliseconds, not seconds. ``keep=False``: the caller supplies the
    compressed copy kept for rollback itself (the catalog updater compresses the signed bytes
    on another core)."""
    dumps = json.dumps
    department_rows = [
        (d["code"], n, d["name"]["zh-Hans"], d["name"]["zh-Hant"], d["name"]["en"],
         dumps(d, ensure_ascii=False))
        for n, d in enumerate(bundle["departments"])
    ]
    item_rows = [
        (i["code"], i["department"], i["queue_category"], i["kind"], i["online_level"], n,
         i["name"]["zh-Hans"], i["name"]["zh-Hant"], i["name"]["en"], _item_text(i))
        for n, i in enumerate(bundle["items"])
    ]
    index = search.build_index(bundle["items"])
    kept = b""
    if keep:
        # Assembled from the item texts already made (one dumps, not two, of a catalog that can
        # be 30 MB). Kept compressed (~10x smaller): SQLite rewrites a whole row, kept bundle
        # included, when its state changes, and a 30 MB row written three times was half the
        # cost of an update.
        head = {k: v for k, v in bundle.items() if k != "items"}
        bundle_text = (dumps(head, ensure_ascii=False)[:-1] + ', "items": ['
                       + ", ".join(row[-1] for row in item_rows) + "]}")
        kept = zlib.compress(bundle_text.encode("utf-8"), 1)
    return PreparedCatalog(bundle["version"], bundle["published"], department_rows, item_rows,
                           index, kept)


def _item_text(item: dict) -> str:
    """An item's JSON text for the items table (read back with json.loads)."""
    try:
        return orjson.dumps(item).decode("utf-8")
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: the standard library copes
        return json.dumps(item, ensure_ascii=False)


def write_prepared(db: sqlite_utils.Database, prepared: PreparedCatalog, *, source: str) -> None:
    """The write half of apply_bundle: one transaction, the current version kept as previous."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with db.atomic():
        db.execute("DELETE FROM items")
        db.execute("DELETE FROM departments")
        db.conn.executemany("INSERT INTO departments VALUES (?, ?, ?, ?, ?, ?)",
                            prepared.department_rows)
        db.conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            prepared.item_rows)
        search.write_index(db, prepared.index)
        # Only the current and the last good version are worth keeping on a kiosk's small disk.
        db.execute("DELETE FROM catalog_versions WHERE state <> 'current'")
        db.execute("UPDATE catalog_versions SET state = 'previous' WHERE state = 'current'")
        db.execute(
            "INSERT OR REPLACE INTO catalog_versions VALUES (?, ?, ?, ?, 'current', ?)",
            [prepared.version, prepared.published, now, source, prepared.kept],
        )


def kept_bundle(value: bytes | str) -> dict:
    """A bundle as kept in catalog_versions: zlib-compressed JSON (rows kept before 2026-12-08
    hold plain text)."""
    if isinstance(value, bytes):
        value = zlib.decompress(value)
    return json.loads(value)


def current_version(db: sqlite_utils.Database) -> int | None:
    row = db.execute("SELECT version FROM catalog_versions WHERE state = 'current'").fetchone()
    return row[0] if row else None


def ensure_catalog(db: sqlite_utils.Database, fallback: Path = SAMPLE_CATALOG) -> None:
    """Give a terminal with an empty store the bundled catalog so it can serve on day one."""
    if current_version(db) is None:
        apply_bundle(db, load_bundle(fallback), source=f"bundled:{fallback.name}")


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Department:
    code: str
    name: dict
    item_count: int

    def title(self, lang: str) -> str:
        return pick(self.name, lang)


@dataclass(frozen=True)
class ItemSummary:
    code: str
    department: str
    name: dict
    summary: dict
    online_level: int

    def title(self, lang: str) -> str:
        return pick(self.name, lang)


def departments(db: sqlite_utils.Database) -> list[Department]:
    rows = db.execute(
        "SELECT d.code, d.data, COUNT(i.code) FROM departments d "
        "LEFT JOIN items i ON i.department = d.code GROUP BY d.code ORDER BY d.sort"
    ).fetchall()
    return [Department(code, json.loads(data)["name"], n) for code, data, n in rows]


def items_in_department(db: sqlite_utils.Database, department: str) -> list[ItemSummary]:
    rows = db.execute(
        "SELECT data FROM items WHERE department = ? ORDER BY sort", [department]
    ).fetchall()
    return [_summary(json.loads(data)) for (data,) in rows]


def _summary(item: dict) -> ItemSummary:
    return ItemSummary(item["code"], item["department"], item["name"], item["summary"], item["online_level"])


def get_item(db: sqlite_utils.Database, code: str) -> dict | None:
    """The full item as in the bundle, or None if the catalog has no such code."""
    row = db.execute("SELECT data FROM items WHERE code = ?", [code]).fetchone()
    return json.loads(row[0]) if row else None


def get_department(db: sqlite_utils.Database, code: str) -> dict | None:
    row = db.execute("SELECT data FROM departments WHERE code = ?", [code]).fetchone()
    return json.loads(row[0]) if row else None
