# SPDX-License-Identifier: EUPL-1.2
"""The PostgreSQL schema (versioned migrations) and the statements the PostgreSQL store runs.

`migrate` runs at start-up: all pending migrations in one transaction that first takes
MIGRATION_LOCK with pg_advisory_xact_lock, so broker processes starting together apply each
migration exactly once. MIGRATIONS_TABLE records the versions applied. Never edit a published
migration: append a new one.

Text keys use COLLATE "C": ids, types and names then sort by code point, as in the SQLite store
and in Python, whatever the database's default collation, and btree indexes serve prefix LIKE.
"""

from __future__ import annotations

from typing import Any

from asyncpg import exceptions as pg  # type: ignore[import-untyped]

from broker.errors import InternalError
from broker.store import postgres_delivery, postgres_history

# Any constant bigint works; this one spells "citycont" in ASCII, so it is recognisable in pg_locks.
MIGRATION_LOCK = 0x63697479636F6E74
MIGRATIONS_TABLE = "citycontext_migrations"

CREATE_MIGRATIONS_TABLE = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
LOCK_MIGRATIONS = "SELECT pg_advisory_xact_lock($1)"
SELECT_SCHEMA_VERSION = f"SELECT coalesce(max(version), 0) FROM {MIGRATIONS_TABLE}"
RECORD_MIGRATION = f"INSERT INTO {MIGRATIONS_TABLE} (version) VALUES ($1)"

# Each entry moves the schema one version forward.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE EXTENSION IF NOT EXISTS postgis;

    CREATE TABLE entities (
        tenant      text COLLATE "C" NOT NULL,
        id          text COLLATE "C" NOT NULL,
        types       text[] COLLATE "C" NOT NULL,  -- expanded type IRIs
        scope       text[] COLLATE "C",           -- NULL when the entity has no scope
        created_at  timestamptz NOT NULL,
        modified_at timestamptz NOT NULL,
        doc         jsonb NOT NULL,               -- the expanded entity
        PRIMARY KEY (tenant, id)
    );
    CREATE INDEX entities_types ON entities USING gin (types);
    CREATE INDEX entities_scope ON entities USING gin (scope);
    CREATE INDEX entities_modified_at ON entities (tenant, modified_at);

    CREATE TABLE tenants (
        name         text COLLATE "C" PRIMARY KEY,
        created_at   timestamptz NOT NULL DEFAULT now(),
        entity_count bigint NOT NULL DEFAULT 0
    );
    INSERT INTO tenants (name) VALUES ('');

    CREATE TABLE type_counts (
        tenant text COLLATE "C" NOT NULL, type text COLLATE "C" NOT NULL, count bigint NOT NULL,
        PRIMARY KEY (tenant, type)
    );
    CREATE TABLE type_attribute_counts (
        tenant text COLLATE "C" NOT NULL, type text COLLATE "C" NOT NULL,
        attribute text COLLATE "C" NOT NULL, attribute_type text COLLATE "C" NOT NULL, count bigint NOT NULL,
        PRIMARY KEY (tenant, type, attribute, attribute_type)
    );
    CREATE TABLE attribute_counts (
        tenant text COLLATE "C" NOT NULL, attribute text COLLATE "C" NOT NULL,
        attribute_type text COLLATE "C" NOT NULL, count bigint NOT NULL,
        PRIMARY KEY (tenant, attribute, attribute_type)
    );
    CREATE TABLE entity_types (
        tenant text COLLATE "C" NOT NULL, type text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,
        PRIMARY KEY (tenant, type, id)
    );

    CREATE TABLE documents (
        kind text COLLATE "C" NOT NULL, tenant text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,
        doc jsonb NOT NULL,
        PRIMARY KEY (kind, tenant, id)
    );

    -- One row per GeoProperty instance (dataset_id '' for the default instance), in 2D WGS84, for
    -- geo-queries (clause 4.10). The entity's doc stays the truth; altitude is kept there only.
    CREATE TABLE entity_geometries (
        tenant     text COLLATE "C" NOT NULL,
        entity_id  text COLLATE "C" NOT NULL,
        attribute  text COLLATE "C" NOT NULL,  -- expanded attribute IRI
        dataset_id text COLLATE "C" NOT NULL DEFAULT '',
        geom       geometry(Geometry, 4326) NOT NULL
    );
    CREATE INDEX entity_geometries_entity ON entity_geometries (tenant, entity_id);
    CREATE INDEX entity_geometries_geom ON entity_geometries USING gist (geom);
    """,
    postgres_history.MIGRATION,  # 2: the attribute history (temporal API), partitioned by month
    postgres_delivery.MIGRATION,  # 3: subscriptions' delivery state and periodic claims
    # 4: the entity's types on its geometry rows, so that a geo-query for a type drops the other types'
    # rows before the costly exact relation (and without a join to entity_types).
    """
    ALTER TABLE entity_geometries ADD COLUMN types text[] COLLATE "C" NOT NULL DEFAULT '{}';
    UPDATE entity_geometries AS g SET types = e.types FROM entities AS e WHERE e.tenant = g.tenant AND e.id = g.entity_id;
    """,
    postgres_history.MIGRATION_RELIST,  # 5: entities whose history the temporal API deleted while they lived
    # 6: when each entity that expires (expiresAt, clause 4.22: the entity's or an attribute instance's,
    # the earliest, epoch ms) does so; a row only for such entities. None can have one yet.
    """
    CREATE TABLE entity_expirations (
        tenant text COLLATE "C" NOT NULL, entity_id text COLLATE "C" NOT NULL, expires_at bigint NOT NULL,
        PRIMARY KEY (tenant, entity_id)
    );
    CREATE INDEX entity_expirations_by_time ON entity_expirations (expires_at);
    """,
)


async def migrate(conn: Any) -> None:
    """Apply the pending migrations in one transaction, serialised across processes."""
    async with conn.transaction():
        await conn.execute(LOCK_MIGRATIONS, MIGRATION_LOCK)
        await conn.execute(CREATE_MIGRATIONS_TABLE)
        version: int = await conn.fetchval(SELECT_SCHEMA_VERSION)
        if version > len(MIGRATIONS):
            raise InternalError(
                f"the database schema is at version {version}, newer than this citycontext knows "
                f"({len(MIGRATIONS)}); upgrade citycontext"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            try:
                await conn.execute(script)
            except pg.UndefinedFileError as exc:  # CREATE EXTENSION without PostGIS on the server
                raise InternalError(
                    f"PostgreSQL cannot load an extension the store needs ({exc}); install PostGIS "
                    "on the database server (Debian: postgresql-15-postgis-3)"
                ) from exc
            await conn.execute(RECORD_MIGRATION, number)


# -- entities ------------------------------------------------------------------------------------

SELECT_DOC = "SELECT doc FROM entities WHERE tenant = $1 AND id = $2"
# A write's read of the entity: its document, and whether the temporal API deleted some of its history
# (postgres_history.MARK_DELETED).
SELECT_FOR_WRITE = "SELECT doc, history_deleted FROM entities WHERE tenant = $1 AND id = $2 FOR UPDATE"
# ORDER BY before FOR UPDATE: rows are locked in id order, so two batches touching the same
# entities cannot deadlock on them.
SELECT_MANY_FOR_WRITE = (
    "SELECT id, doc, history_deleted FROM entities WHERE tenant = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE"
)
INSERT_ENTITY = (
    "INSERT INTO entities (tenant, id, types, scope, created_at, modified_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
UPDATE_ENTITY = "UPDATE entities SET types = $3, scope = $4, modified_at = $5, doc = $6 WHERE tenant = $1 AND id = $2"
DELETE_ENTITIES = "DELETE FROM entities WHERE tenant = $1 AND id = ANY($2::text[])"
SELECT_IDS_OF_TYPES = "SELECT DISTINCT id FROM entity_types WHERE tenant = $1 AND type = ANY($2::text[]) ORDER BY id"

# -- tenants ---------------------------------------------------------------------------------------

INSERT_TENANT = "INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
SELECT_TENANT = "SELECT 1 FROM tenants WHERE name = $1"
COUNT_ENTITIES = "UPDATE tenants SET entity_count = entity_count + $2 WHERE name = $1"
SELECT_ENTITY_COUNTS = "SELECT name, entity_count FROM tenants ORDER BY name"

# -- discovery counters (keys arrive sorted, so concurrent writers lock counter rows in one order) --

UPSERT_TYPE_COUNTS = (
    "INSERT INTO type_counts AS c (tenant, type, count) "
    "SELECT $1, u.type, u.delta FROM unnest($2::text[], $3::bigint[]) AS u(type, delta) "
    "ON CONFLICT (tenant, type) DO UPDATE SET count = c.count + excluded.count"
)
DROP_ZERO_TYPE_COUNTS = "DELETE FROM type_counts WHERE tenant = $1 AND type = ANY($2::text[]) AND count <= 0"
UPSERT_TYPE_ATTRIBUTE_COUNTS = (
    "INSERT INTO type_attribute_counts AS c (tenant, type, attribute, attribute_type, count) "
    "SELECT $1, u.type, u.attribute, u.attribute_type, u.delta "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(type, attribute, attribute_type, delta) "
    "ON CONFLICT (tenant, type, attribute, attribute_type) DO UPDATE SET count = c.count + excluded.count"
)
DROP_ZERO_TYPE_ATTRIBUTE_COUNTS = (
    "DELETE FROM type_attribute_counts WHERE tenant = $1 AND count <= 0 AND (type, attribute, attribute_type) IN "
    "(SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))"
)
UPSERT_ATTRIBUTE_COUNTS = (
    "INSERT INTO attribute_counts AS c (tenant, attribute, attribute_type, count) "
    "SELECT $1, u.attribute, u.attribute_type, u.delta "
    "FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(attribute, attribute_type, delta) "
    "ON CONFLICT (tenant, attribute, attribute_type) DO UPDATE SET count = c.count + excluded.count"
)
DROP_ZERO_ATTRIBUTE_COUNTS = (
    "DELETE FROM attribute_counts WHERE tenant = $1 AND count <= 0 AND (attribute, attribute_type) IN "
    "(SELECT * FROM unnest($2::text[], $3::text[]))"
)
INSERT_ENTITY_TYPES = (
    "INSERT INTO entity_types (tenant, type, id) SELECT $1, u.type, u.id FROM unnest($2::text[], $3::text[]) AS u(type, id) "
    "ON CONFLICT DO NOTHING"
)
UPSERT_EXPIRATIONS = (
    "INSERT INTO entity_expirations (tenant, entity_id, expires_at) "
    "SELECT $1, u.id, u.at FROM unnest($2::text[], $3::bigint[]) AS u(id, at) "
    "ON CONFLICT (tenant, entity_id) DO UPDATE SET expires_at = excluded.expires_at"
)
DELETE_EXPIRATIONS = "DELETE FROM entity_expirations WHERE tenant = $1 AND entity_id = ANY($2::text[])"
SELECT_EXPIRED = "SELECT tenant, entity_id FROM entity_expirations WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2"
DELETE_ENTITY_TYPES = (
    "DELETE FROM entity_types WHERE tenant = $1 AND (type, id) IN (SELECT * FROM unnest($2::text[], $3::text[]))"
)

SELECT_TYPE_COUNTS = "SELECT type, count FROM type_counts WHERE tenant = $1 ORDER BY type"
SELECT_TYPE_ATTRIBUTES = (
    "SELECT type, attribute, attribute_type, count FROM type_attribute_counts WHERE tenant = $1 "
    "ORDER BY type, attribute, attribute_type"
)
SELECT_TYPE_ATTRIBUTES_OF = (
    "SELECT type, attribute, attribute_type, count FROM type_attribute_counts WHERE tenant = $1 AND type = $2 "
    "ORDER BY attribute, attribute_type"
)
SELECT_ATTRIBUTE_COUNTS = (
    "SELECT attribute, attribute_type, count FROM attribute_counts WHERE tenant = $1 ORDER BY attribute, attribute_type"
)
SELECT_ATTRIBUTE_COUNTS_OF = (
    "SELECT attribute, attribute_type, count FROM attribute_counts WHERE tenant = $1 AND attribute = $2 "
    "ORDER BY attribute_type"
)

# -- GeoProperty mirror ------------------------------------------------------------------------------

DELETE_GEOMETRIES = "DELETE FROM entity_geometries WHERE tenant = $1 AND entity_id = ANY($2::text[])"
INSERT_GEOMETRIES = (
    "INSERT INTO entity_geometries (tenant, entity_id, attribute, dataset_id, geom, types) "
    "SELECT $1, u.entity_id, u.attribute, u.dataset_id, ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(u.geojson), 4326)), "
    "ARRAY(SELECT jsonb_array_elements_text(u.types::jsonb)) "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(entity_id, attribute, dataset_id, geojson, types)"
)

# -- documents ---------------------------------------------------------------------------------------

SELECT_DOCUMENT = "SELECT doc FROM documents WHERE kind = $1 AND tenant = $2 AND id = $3"
SELECT_DOCUMENTS = "SELECT doc FROM documents WHERE kind = $1 AND tenant = $2 ORDER BY id"
INSERT_DOCUMENT = "INSERT INTO documents (kind, tenant, id, doc) VALUES ($1, $2, $3, $4)"
REPLACE_DOCUMENT = "UPDATE documents SET doc = $4 WHERE kind = $1 AND tenant = $2 AND id = $3"
DELETE_DOCUMENT = "DELETE FROM documents WHERE kind = $1 AND tenant = $2 AND id = $3"
