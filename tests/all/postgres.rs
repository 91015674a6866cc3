use dgkafka_testkit::{env, pg, unique_name};

#[tokio::test]
async fn row_round_trips_through_tokio_postgres_with_password_auth() {
    let client = pg::connect().await;
    let table = unique_name("roundtrip");
    client
        .batch_execute(&format!(
            "CREATE TABLE \"{table}\" (id int4, name text, balance float8, raw bytea)"
        ))
        .await
        .unwrap();
    client
        .execute(
            &format!("INSERT INTO \"{table}\" VALUES ($1, $2, $3, $4)"),
            &[&7i32, &"Customer#7", &711.56f64, &vec![0u8, 255, 10]],
        )
        .await
        .unwrap();
    let row = client
        .query_one(
            &format!("SELECT id, name, balance, raw FROM \"{table}\""),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 7);
    assert_eq!(row.get::<_, &str>(1), "Customer#7");
    assert_eq!(row.get::<_, f64>(2), 711.56);
    assert_eq!(row.get::<_, Vec<u8>>(3), vec![0u8, 255, 10]);
    client
        .batch_execute(&format!("DROP TABLE \"{table}\""))
        .await
        .unwrap();
}

#[tokio::test]
async fn server_really_checks_the_password() {
    let env = env();
    let config = format!(
        "host={} port={} user={} password=wrong-{} dbname={} sslmode=disable",
        env.pg_host, env.pg_port, env.pg_user, env.pg_password, env.pg_database
    );
    let Err(err) = pg::connect_with(&config).await else {
        panic!("a wrong password was accepted");
    };
    let db_error = err
        .as_db_error()
        .expect("the server refused, not the network");
    assert_eq!(
        db_error.code(),
        &tokio_postgres::error::SqlState::INVALID_PASSWORD
    );
}
