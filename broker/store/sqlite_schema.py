# SPDX-License-Identifier: EUPL-1.2
"""The SQLite schema (versioned migrations) and the statements the SQLite store runs."""

from __future__ import annotations

from broker.store import sqlite_delivery, sqlite_history

# Each entry moves the schema one version forward; PRAGMA user_version records how far we are.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE entities (
        tenant      TEXT NOT NULL,
        id          TEXT NOT NULL,
        types       TEXT NOT NULL,  -- JSON array of expanded type IRIs
        created_at  TEXT NOT NULL,
        modified_at TEXT NOT NULL,
        doc         TEXT NOT NULL,  -- the expanded entity, JSON
        UNIQUE (tenant, id)
    );
    """,
    """
    CREATE TABLE tenants (
        name TEXT PRIMARY KEY, created_at TEXT NOT NULL, entity_count INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    INSERT INTO tenants (name, created_at) VALUES ('', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    INSERT INTO tenants (name, created_at, entity_count) SELECT tenant, MIN(created_at), COUNT(*) FROM entities
        WHERE tenant != '' GROUP BY tenant;
    UPDATE tenants SET entity_count = (SELECT COUNT(*) FROM entities WHERE tenant = '') WHERE name = '';
    CREATE TABLE type_counts (
        tenant TEXT NOT NULL, type TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (tenant, type)
    ) WITHOUT ROWID;
    CREATE TABLE type_attribute_counts (
        tenant TEXT NOT NULL, type TEXT NOT NULL, attribute TEXT NOT NULL, attribute_type TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (tenant, type, attribute, attribute_type)
    ) WITHOUT ROWID;
    CREATE TABLE attribute_counts (
        tenant TEXT NOT NULL, attribute TEXT NOT NULL, attribute_type TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (tenant, attribute, attribute_type)
    ) WITHOUT ROWID;
    CREATE TABLE entity_types (
        tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,
        PRIMARY KEY (tenant, type, id)
    ) WITHOUT ROWID;
    CREATE TABLE documents (
        kind TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (kind, tenant, id)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE geo_entries (
        id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, entity_id TEXT NOT NULL, attribute TEXT NOT NULL
    );
    CREATE INDEX geo_entries_by_entity ON geo_entries (tenant, entity_id);
    CREATE INDEX geo_entries_by_attribute ON geo_entries (tenant, attribute);
    CREATE VIRTUAL TABLE geo_rtree USING rtree (id, min_lon, max_lon, min_lat, max_lat);
    """,
    sqlite_history.MIGRATION,  # 4: the attribute history (temporal API)
    sqlite_delivery.MIGRATION,  # 5: subscriptions' delivery state and periodic claims
    # 6: the spatial index by (tenant, GeoProperty, entity type): an entry's id is a serial number times
    # GEO_KEYS plus the key of its (tenant, GeoProperty, type), so that the R*Tree search for one type
    # drops the other types' boxes by their id alone, before any row is read; a Point's position is kept
    # in its entry, so that the exact relation of points is decided without reading documents. The store
    # fills the new index from the entities after this migration (SqliteStore._index_all_geometries).
    """
    DROP TABLE geo_rtree;
    DROP TABLE geo_entries;
    CREATE TABLE geo_keys (
        id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, attribute TEXT NOT NULL, type TEXT NOT NULL,
        UNIQUE (tenant, attribute, type)
    );
    CREATE TABLE geo_entries (
        id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, entity_id TEXT NOT NULL, attribute TEXT NOT NULL,
        lon REAL, lat REAL  -- a Point's position, NULL for other geometries
    );
    CREATE INDEX geo_entries_by_entity ON geo_entries (tenant, entity_id);
    CREATE INDEX geo_entries_by_attribute ON geo_entries (tenant, attribute);
    CREATE VIRTUAL TABLE geo_rtree USING rtree (id, min_lon, max_lon, min_lat, max_lat);
    """,
    # 7: Points leave the R*Tree for a B-tree on (key, Z-order cell, position, entity id)
    # (broker.store.zorder): an R*Tree insert rewrote several node blobs and was the costliest statement
    # of a creation; the covering index answers a query without reading the entries. The entry keeps its
    # key (tenant, GeoProperty, type) as a column too, for that index; the R*Tree keeps the boxes of the
    # other geometries. The store fills the index again after this migration.
    """
    DROP TABLE geo_rtree;
    DROP TABLE geo_entries;
    CREATE TABLE geo_entries (
        id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, entity_id TEXT NOT NULL, attribute TEXT NOT NULL,
        key INTEGER NOT NULL,  -- geo_keys.id, also id % GEO_KEYS
        cell INTEGER,          -- a Point's Z-order cell, NULL for other geometries (those are in geo_rtree)
        lon REAL, lat REAL     -- a Point's position
    );
    CREATE INDEX geo_entries_by_entity ON geo_entries (tenant, entity_id);
    CREATE INDEX geo_entries_by_cell ON geo_entries (key, cell, lon, lat, entity_id);
    CREATE VIRTUAL TABLE geo_rtree USING rtree (id, min_lon, max_lon, min_lat, max_lat);
    """,
    sqlite_history.MIGRATION_ATTRIBUTES,  # 8: the attributes of an entity's history in its row of history_entities
    sqlite_history.MIGRATION_RELIST,  # 9: entities whose history the temporal API deleted while they lived
    sqlite_history.MIGRATION_UNIQUE_IDS,  # 10: instance ids (instanceId) never given twice
    # 11: when each entity that expires (expiresAt, clause 4.22: the entity's or an attribute instance's,
    # the earliest, epoch ms) does so; a row only for such entities, so that the others cost no write.
    # No stored entity can have one yet (expiresAt was refused before).
    """
    CREATE TABLE entity_expirations (
        tenant TEXT NOT NULL, entity_id TEXT NOT NULL, expires_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, entity_id)
    ) WITHOUT ROWID;
    CREATE INDEX entity_expirations_by_time ON entity_expirations (expires_at);
    """,
)

SELECT_DOC = "SELECT doc FROM entities WHERE tenant = ? AND id = ?"
# A write's read of the entity: its document, and whether the temporal API deleted some of its history.
SELECT_FOR_WRITE = "SELECT doc, history_deleted FROM entities WHERE tenant = ? AND id = ?"
INSERT_ENTITY = "INSERT INTO entities (tenant, id, types, created_at, modified_at, doc) VALUES (?, ?, ?, ?, ?, ?)"
UPDATE_ENTITY = "UPDATE entities SET types = ?, modified_at = ?, doc = ? WHERE tenant = ? AND id = ?"
DELETE_ENTITY = "DELETE FROM entities WHERE tenant = ? AND id = ?"
INSERT_TENANT = "INSERT OR IGNORE INTO tenants (name, created_at) VALUES (?, ?)"
SELECT_TENANT = "SELECT 1 FROM tenants WHERE name = ?"
COUNT_ENTITY = "UPDATE tenants SET entity_count = entity_count + ? WHERE name = ?"
SELECT_ENTITY_COUNTS = "SELECT name, entity_count FROM tenants ORDER BY name"

UPSERT_TYPE_COUNT = (
    "INSERT INTO type_counts (tenant, type, count) VALUES (?, ?, ?) "
    "ON CONFLICT (tenant, type) DO UPDATE SET count = count + excluded.count"
)
UPSERT_TYPE_ATTRIBUTE_COUNT = (
    "INSERT INTO type_attribute_counts (tenant, type, attribute, attribute_type, count) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (tenant, type, attribute, attribute_type) DO UPDATE SET count = count + excluded.count"
)
UPSERT_ATTRIBUTE_COUNT = (
    "INSERT INTO attribute_counts (tenant, attribute, attribute_type, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (tenant, attribute, attribute_type) DO UPDATE SET count = count + excluded.count"
)
DROP_ZERO_COUNTS = (
    "DELETE FROM type_counts WHERE tenant = ? AND count <= 0",
    "DELETE FROM type_attribute_counts WHERE tenant = ? AND count <= 0",
    "DELETE FROM attribute_counts WHERE tenant = ? AND count <= 0",
)
INSERT_ENTITY_TYPE = "INSERT OR IGNORE INTO entity_types (tenant, type, id) VALUES (?, ?, ?)"
DELETE_ENTITY_TYPE = "DELETE FROM entity_types WHERE tenant = ? AND type = ? AND id = ?"
UPSERT_EXPIRATION = (
    "INSERT INTO entity_expirations (tenant, entity_id, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (tenant, entity_id) DO UPDATE SET expires_at = excluded.expires_at"
)
DELETE_EXPIRATION = "DELETE FROM entity_expirations WHERE tenant = ? AND entity_id = ?"
SELECT_EXPIRED = "SELECT tenant, entity_id FROM entity_expirations WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"
SELECT_IDS_OF_TYPE = "SELECT id FROM entity_types WHERE tenant = ? AND type = ?"

SELECT_TYPE_COUNTS = "SELECT type, count FROM type_counts WHERE tenant = ? ORDER BY type"
SELECT_TYPE_ATTRIBUTES = (
    "SELECT type, attribute, attribute_type, count FROM type_attribute_counts WHERE tenant = ? "
    "ORDER BY type, attribute, attribute_type"
)
SELECT_TYPE_ATTRIBUTES_OF = (
    "SELECT type, attribute, attribute_type, count FROM type_attribute_counts WHERE tenant = ? AND type = ? "
    "ORDER BY attribute, attribute_type"
)
SELECT_ATTRIBUTE_COUNTS = (
    "SELECT attribute, attribute_type, count FROM attribute_counts WHERE tenant = ? ORDER BY attribute, attribute_type"
)
SELECT_ATTRIBUTE_COUNTS_OF = (
    "SELECT attribute, attribute_type, count FROM attribute_counts WHERE tenant = ? AND attribute = ? "
    "ORDER BY attribute_type"
)

SELECT_DOCUMENT = "SELECT doc FROM documents WHERE kind = ? AND tenant = ? AND id = ?"
SELECT_DOCUMENTS = "SELECT doc FROM documents WHERE kind = ? AND tenant = ? ORDER BY id"
INSERT_DOCUMENT = "INSERT INTO documents (kind, tenant, id, doc) VALUES (?, ?, ?, ?)"
REPLACE_DOCUMENT = "UPDATE documents SET doc = ? WHERE kind = ? AND tenant = ? AND id = ?"
DELETE_DOCUMENT = "DELETE FROM documents WHERE kind = ? AND tenant = ? AND id = ?"

DELETE_GEO_RTREE = (
    "DELETE FROM geo_rtree WHERE id IN (SELECT id FROM geo_entries WHERE tenant = ? AND entity_id = ? AND cell IS NULL)"
)
DELETE_GEO_ENTRIES = "DELETE FROM geo_entries WHERE tenant = ? AND entity_id = ?"
INSERT_GEO_ENTRY = (
    "INSERT INTO geo_entries (id, tenant, entity_id, attribute, key, cell, lon, lat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_GEO_RTREE = "INSERT INTO geo_rtree (id, min_lon, max_lon, min_lat, max_lat) VALUES (?, ?, ?, ?, ?)"
GEO_KEYS = 1 << 24  # keys of (tenant, GeoProperty, type) per database, at most; entry id % GEO_KEYS = key
INSERT_GEO_KEY = "INSERT OR IGNORE INTO geo_keys (tenant, attribute, type) VALUES (?, ?, ?)"
SELECT_GEO_KEY = "SELECT id FROM geo_keys WHERE tenant = ? AND attribute = ? AND type = ?"
SELECT_GEO_KEYS = "SELECT id FROM geo_keys WHERE tenant = ? AND attribute = ? AND type IN ({marks})"
SELECT_ALL_GEO_KEYS = "SELECT id FROM geo_keys WHERE tenant = ? AND attribute = ?"
SELECT_LAST_GEO_ENTRY = "SELECT COALESCE(MAX(id), 0) FROM geo_entries"
# The entries (entity id, a Point's longitude and latitude) a geo-query's candidates come from, of some
# keys: Points in cell ranges (given as a JSON array of [key, first cell, last cell]) and in the box;
# other geometries whose R*Tree box meets the box (CROSS JOIN: the box search drives); or all of them.
GEO_POINTS_IN_CELLS = (
    "SELECT g.entity_id, g.lon, g.lat FROM json_each(?) AS r CROSS JOIN geo_entries AS g INDEXED BY geo_entries_by_cell "
    "ON g.key = r.value ->> 0 AND g.cell BETWEEN r.value ->> 1 AND r.value ->> 2 "
    "WHERE g.lon BETWEEN ? AND ? AND g.lat BETWEEN ? AND ?"
)
GEO_SHAPES_IN_BOX_OF_KEYS = (
    "SELECT g.entity_id, g.lon, g.lat FROM geo_rtree AS r CROSS JOIN geo_entries AS g ON g.id = r.id "
    "WHERE r.min_lon <= ? AND r.max_lon >= ? AND r.min_lat <= ? AND r.max_lat >= ? AND r.id % {keys} IN ({marks})"
)
GEO_ENTRIES_OF_KEYS = "SELECT entity_id, lon, lat FROM geo_entries INDEXED BY geo_entries_by_cell WHERE key IN ({marks})"
IDS_OF_TYPES = "id IN (SELECT id FROM entity_types WHERE tenant = ? AND type IN ({marks}))"
