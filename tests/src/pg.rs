//! A tokio-postgres connection to the test cluster, with password authentication.

use tokio_postgres::{Client, NoTls};

use crate::env::env;

/// Connects as the test superuser; the connection task runs on the current runtime.
pub async fn connect() -> Client {
    connect_with(&env().pg_connection_string())
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL: {e}"))
}

/// Connects with an explicit connection string (e.g. a wrong password).
pub async fn connect_with(config: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(config, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("test PostgreSQL connection ended: {e}");
        }
    });
    Ok(client)
}
