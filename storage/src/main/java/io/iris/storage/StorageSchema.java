package io.iris.storage;

import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MySQL schema of the storage tier, as versioned migrations ({@code db/migration/V*.sql})
 * applied by Flyway: the tables are created and changed here, never by the sink's auto-create. Safe
 * to run at every start and from several processes (Flyway takes a lock).
 */
public final class StorageSchema {
  private static final Logger log = LoggerFactory.getLogger(StorageSchema.class);

  /** The table the JDBC sink writes. */
  public static final String DELTAS_TABLE = io.iris.topics.Names.DELTAS_TABLE;

  private StorageSchema() {}

  /** Applies the migrations that are missing; returns the schema version now in place. */
  public static String migrate(DataSource dataSource) {
    MigrateResult result =
        Flyway.configure()
            .dataSource(dataSource)
            .locations("classpath:db/migration")
            .table("iris_schema_history")
            .baselineOnMigrate(false)
            .load()
            .migrate();
    String version =
        result.targetSchemaVersion == null
            ? result.initialSchemaVersion
            : result.targetSchemaVersion;
    log.info(
        "MySQL schema at version {} ({} migrations applied now)",
        version,
        result.migrationsExecuted);
    return version;
  }
}
