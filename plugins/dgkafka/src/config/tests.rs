//! Unit tests for parsing and validation; each rule has a test that fails when it breaks.

use super::*;

/// The seed's example `dgkafka.toml`, verbatim.
const SEED_EXAMPLE: &str = r#"[dgkafka]
database = "template1"
user = "ericlam"
password = ""
host = "localhost"
port = 5432
sslmode = "disable"
xdrive_host = "localhost"
xdrive_port = 7171
xdrive_offset_endpoint = "kafkaoffset"
xdrive_kafka_endpoint = "kafka"

[kafka]
  [kafka.input]
  format = "csv"
  delimiter = "|"
  consumer_group = "dggrp"
  topic = "customer"
  partition_num = 3
  nwriter = 2
  ext_read_table = "customer_kafka_read"
  ext_write_table = "customer_kafka_write"
  ext_offset_table = "kafka_offset"

    [[kafka.input.columns]]
    name = "c_custkey"
    type = "integer"

    [[kafka.input.columns]]
    name = "c_name"
    type = "varchar(25)"

    [[kafka.input.columns]]
    name = "c_address"
    type = "varchar(40)"
    ignored = false

    [[kafka.input.columns]]
    name = "c_nationkey"
    type = "integer"

    [[kafka.input.columns]]
    name = "c_phone"
    type = "varchar(15)"

    [[kafka.input.columns]]
    name = "c_acctbal"
    type = "double precision"

    [[kafka.input.columns]]
    name = "c_mktsegment"
    type = "varchar(10)"

    [[kafka.input.columns]]
    name = "c_comment"
    type = "varchar(117)"

  [kafka.output]
  offset_table = "kafka_offset_summary"
  output_table = "customer"

  [kafka.commit]
  max_row = 10000
  minimal_interval = -1
"#;

/// The adapted copy checked in for the quickstart and the tests.
const EXAMPLE_FILE: &str = include_str!("../../../../examples/dgkafka.toml");

fn seed() -> Config {
    Config::parse(SEED_EXAMPLE).expect("the seed's example parses")
}

/// The seed's example with `edit` applied to its text, parsed and validated.
fn validate_edited(edit: impl FnOnce(&mut Config)) -> Result<(), ValidationError> {
    let mut config = seed();
    edit(&mut config);
    config.validate()
}

/// The key path and message of a parse error (`""` for the whole file).
fn parse_err(text: &str) -> (String, String) {
    let error = Config::parse(text).expect_err("parsing should fail");
    (error.key.unwrap_or_default(), error.message)
}

fn key_of(result: Result<(), ValidationError>) -> String {
    result.expect_err("validation should fail").key
}

#[test]
fn the_seeds_example_parses_unchanged_and_is_valid() {
    let config = seed();
    config.validate().unwrap();
    assert_eq!(config.dgkafka.database, "template1");
    assert_eq!(config.dgkafka.user, "ericlam");
    assert!(config.dgkafka.password.is_empty());
    assert_eq!(config.dgkafka.sslmode, SslMode::Disable);
    assert_eq!(config.dgkafka.xdrive_port, 7171);
    assert_eq!(config.format(), Some(Format::Csv));
    assert_eq!(config.delimiter(), b'|');
    assert_eq!(config.kafka.input.partition_num, 3);
    assert_eq!(config.kafka.input.nwriter, 2);
    assert_eq!(config.kafka.input.columns.len(), 8);
    assert_eq!(config.kafka.input.columns[5].type_, "double precision");
    assert!(!config.kafka.input.columns[2].ignored);
    assert_eq!(config.kafka.output.offset_table, "kafka_offset_summary");
    assert_eq!(config.kafka.commit.max_row, 10000);
    assert_eq!(config.kafka.commit.minimal_interval, -1);
    assert!(config.kafka.transform.is_none());
}

#[test]
fn the_checked_in_example_is_the_seeds_adapted_to_the_test_services() {
    let config = Config::parse(EXAMPLE_FILE).unwrap();
    config.validate().unwrap();
    assert_eq!(config.dgkafka.database, "dgkafka");
    assert_eq!(config.dgkafka.user, "dgkafka");
    assert_eq!(config.dgkafka.port, 35432);
    assert_eq!(config.dgkafka.sslmode, SslMode::Disable);
    assert_eq!(config.dgkafka.xdrive_host, "127.0.0.1");
    assert_eq!(config.dgkafka.xdrive_port, 7171);
    // Everything below [kafka] is the seed's.
    assert_eq!(config.kafka, seed().kafka);
}

const MINIMAL: &str = r#"
[dgkafka]
database = "db"
user = "u"
[kafka.input]
format = "json"
consumer_group = "g"
topic = "t"
partition_num = 4
[kafka.output]
offset_table = "o"
output_table = "out"
"#;

#[test]
fn defaults_are_the_seeds() {
    let config = Config::parse(MINIMAL).unwrap();
    config.validate().unwrap();
    let d = &config.dgkafka;
    assert_eq!(d.host, "localhost");
    assert_eq!(d.port, 5432);
    assert_eq!(d.sslmode, SslMode::Require);
    assert_eq!(d.connect_timeout, 0);
    assert!(d.password.is_empty());
    assert_eq!(
        (
            d.sslcert.as_ref(),
            d.sslkey.as_ref(),
            d.sslrootcert.as_ref()
        ),
        (None, None, None)
    );
    assert_eq!(d.xdrive_host, "localhost");
    assert_eq!(d.xdrive_offset_endpoint, "kafkaoffset");
    assert_eq!(d.xdrive_kafka_endpoint, "kafka");
    assert_eq!(
        config.kafka.commit,
        Commit {
            max_row: 1000,
            minimal_interval: -1
        }
    );
    assert_eq!(config.kafka.input.nwriter, 1);
    assert_eq!(config.delimiter(), b',');
}

#[test]
fn json_and_binary_default_to_one_column() {
    let json = Config::parse(MINIMAL).unwrap();
    let cols = json.columns();
    assert_eq!(cols.len(), 1);
    assert_eq!(
        (cols[0].name.as_str(), cols[0].type_.as_str()),
        ("jdata", "json")
    );
    let binary = Config::parse(&MINIMAL.replace("\"json\"", "\"binary\"")).unwrap();
    binary.validate().unwrap();
    let cols = binary.columns();
    assert_eq!(
        (cols[0].name.as_str(), cols[0].type_.as_str()),
        ("data", "bytea")
    );
    // Listed columns win.
    assert_eq!(seed().columns().len(), 8);
}

#[test]
fn nreader_defaults_to_partitions_capped_by_cores() {
    let config = Config::parse(MINIMAL).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get() as u32;
    assert_eq!(config.nreader(), cores.min(4));
    let set =
        Config::parse(&MINIMAL.replace("partition_num = 4", "partition_num = 4\nnreader = 3"))
            .unwrap();
    set.validate().unwrap();
    assert_eq!(set.nreader(), 3);
}

#[test]
fn debug_never_shows_the_password() {
    let mut config = seed();
    config.dgkafka.password = Password::new("hunter2-very-secret");
    let shown = format!("{config:?} {config:#?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("<redacted>"));
    assert_eq!(config.dgkafka.password.expose(), "hunter2-very-secret");
}

#[test]
fn unknown_keys_are_errors_naming_the_key_path() {
    let (key, message) =
        parse_err(&MINIMAL.replace("topic = \"t\"", "topic = \"t\"\nfromat = \"csv\""));
    assert_eq!(key, "kafka.input.fromat", "{message}");
    assert!(message.contains("unknown field"), "{message}");
    let (key, _) = parse_err(&format!("{MINIMAL}\n[kafka.commit]\nmax_rows = 5\n"));
    assert_eq!(key, "kafka.commit.max_rows");
    let (key, _) = parse_err(&format!("{MINIMAL}\n[extra]\nx = 1\n"));
    assert_eq!(key, "extra");
    let (key, _) =
        parse_err(&MINIMAL.replace("user = \"u\"", "user = \"u\"\nsslmod = \"disable\""));
    assert_eq!(key, "dgkafka.sslmod");
}

#[test]
fn wrong_types_and_missing_keys_name_the_key() {
    let (key, _) = parse_err(&MINIMAL.replace("partition_num = 4", "partition_num = \"4\""));
    assert_eq!(key, "kafka.input.partition_num");
    let (key, message) = parse_err(&MINIMAL.replace("user = \"u\"\n", ""));
    assert_eq!(key, "dgkafka", "{message}");
    assert!(message.contains("user"), "{message}");
    let (key, message) = parse_err("[dgkafka\n");
    assert_eq!(key, "", "a syntax error has no key path");
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn the_reference_sections_typo_is_a_parse_error() {
    // The seed's reference section writes `user = "user_name'`: not TOML.
    let (_, message) = parse_err("[dgkafka]\ndatabase = \"db_name\"\nuser = \"user_name'\n");
    assert!(message.contains("line 3"), "{message}");
}

#[test]
fn sslmode_takes_the_four_documented_values() {
    for (text, mode) in [
        ("disable", SslMode::Disable),
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ] {
        let config =
            Config::parse(&SEED_EXAMPLE.replace("\"disable\"", &format!("\"{text}\""))).unwrap();
        assert_eq!(config.dgkafka.sslmode, mode);
        assert_eq!(mode.to_string(), text);
    }
    let (key, message) = parse_err(&SEED_EXAMPLE.replace("\"disable\"", "\"prefer\""));
    assert_eq!(key, "dgkafka.sslmode");
    assert!(message.contains("prefer"), "{message}");
}

#[test]
fn sslcert_and_sslkey_go_together() {
    let key = key_of(validate_edited(|c| {
        c.dgkafka.sslcert = Some("client.crt".into())
    }));
    assert_eq!(key, "dgkafka.sslcert");
    let key = key_of(validate_edited(|c| {
        c.dgkafka.sslkey = Some("client.key".into())
    }));
    assert_eq!(key, "dgkafka.sslkey");
    validate_edited(|c| {
        c.dgkafka.sslcert = Some("client.crt".into());
        c.dgkafka.sslkey = Some("client.key".into());
    })
    .unwrap();
}

#[test]
fn empty_connection_keys_are_refused() {
    assert_eq!(
        key_of(validate_edited(|c| c.dgkafka.database.clear())),
        "dgkafka.database"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.dgkafka.user.clear())),
        "dgkafka.user"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.dgkafka.port = 0)),
        "dgkafka.port"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.dgkafka.xdrive_port = 0)),
        "dgkafka.xdrive_port"
    );
}

#[test]
fn format_must_be_csv_json_or_binary() {
    let err = validate_edited(|c| c.kafka.input.format = "avro".into()).unwrap_err();
    assert_eq!(err.key, "kafka.input.format");
    assert!(err.message.contains("avro"));
    // Case does not matter, as in the seed's prose ("CSV", "JSON").
    validate_edited(|c| c.kafka.input.format = "CSV".into()).unwrap();
}

#[test]
fn csv_delimiter_is_one_byte() {
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.input.delimiter = Some("||".into())
        )),
        "kafka.input.delimiter"
    );
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.input.delimiter = Some("".into())
        )),
        "kafka.input.delimiter"
    );
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.input.delimiter = Some("é".into())
        )),
        "kafka.input.delimiter"
    );
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.input.delimiter = Some("\"".into())
        )),
        "kafka.input.delimiter"
    );
    validate_edited(|c| c.kafka.input.delimiter = Some("\t".into())).unwrap();
    validate_edited(|c| c.kafka.input.delimiter = None).unwrap();
}

#[test]
fn csv_needs_columns() {
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.input.columns.clear())),
        "kafka.input.columns"
    );
}

#[test]
fn json_is_one_json_column() {
    let to_json = |c: &mut Config| {
        c.kafka.input.format = "json".into();
        c.kafka.input.delimiter = None;
    };
    // The seed's eight csv columns are not a json input.
    assert_eq!(key_of(validate_edited(to_json)), "kafka.input.columns");
    validate_edited(|c| {
        to_json(c);
        c.kafka.input.columns = vec![Column {
            name: "jdata".into(),
            type_: "json".into(),
            ignored: false,
        }];
    })
    .unwrap();
    let err = validate_edited(|c| {
        to_json(c);
        c.kafka.input.columns = vec![Column {
            name: "jdata".into(),
            type_: "text".into(),
            ignored: false,
        }];
    })
    .unwrap_err();
    assert_eq!(err.key, "kafka.input.columns[0].type");
    // A delimiter means nothing for json.
    assert_eq!(
        key_of(validate_edited(|c| {
            to_json(c);
            c.kafka.input.columns.clear();
            c.kafka.input.delimiter = Some(",".into());
        })),
        "kafka.input.delimiter"
    );
}

#[test]
fn binary_is_one_bytea_column() {
    let err = validate_edited(|c| {
        c.kafka.input.format = "binary".into();
        c.kafka.input.delimiter = None;
        c.kafka.input.columns.truncate(1);
    })
    .unwrap_err();
    assert_eq!(err.key, "kafka.input.columns[0].type");
    assert!(err.message.contains("bytea"), "{}", err.message);
}

#[test]
fn column_names_are_identifiers_and_unique() {
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.input.columns[3].name = "bad name".into()
        )),
        "kafka.input.columns[3].name"
    );
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.input.columns[4].name = "C_CUSTKEY".into()
        )),
        "kafka.input.columns[4].name"
    );
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.input.columns[1].type_ = " ".into()
        )),
        "kafka.input.columns[1].type"
    );
    assert_eq!(
        key_of(validate_edited(|c| c
            .kafka
            .input
            .columns
            .iter_mut()
            .for_each(|col| col.ignored = true))),
        "kafka.input.columns"
    );
}

#[test]
fn partitions_readers_and_writers_are_positive() {
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.input.partition_num = 0)),
        "kafka.input.partition_num"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.input.partition_num = -3)),
        "kafka.input.partition_num"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.input.nwriter = 0)),
        "kafka.input.nwriter"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.input.nreader = Some(0))),
        "kafka.input.nreader"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.input.nreader = Some(4))),
        "kafka.input.nreader"
    );
    validate_edited(|c| c.kafka.input.nreader = Some(3)).unwrap();
}

#[test]
fn topic_and_group_are_checked() {
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.input.topic = "a topic".into())),
        "kafka.input.topic"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.input.topic = String::new())),
        "kafka.input.topic"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.input.topic = "..".into())),
        "kafka.input.topic"
    );
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.input.consumer_group = " ".into()
        )),
        "kafka.input.consumer_group"
    );
    validate_edited(|c| c.kafka.input.topic = "orders.v1_x-2".into()).unwrap();
}

#[test]
fn table_names_may_be_schema_qualified() {
    validate_edited(|c| {
        c.kafka.output.offset_table = "myschema.kafka_offset_summary".into();
        c.kafka.output.output_table = "\"Sales\".\"Customer\"".into();
    })
    .unwrap();
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.output.offset_table = "a.b.c".into()
        )),
        "kafka.output.offset_table"
    );
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.output.output_table = "x;drop".into()
        )),
        "kafka.output.output_table"
    );
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.input.ext_read_table = Some("a..b".into())
        )),
        "kafka.input.ext_read_table"
    );
    assert_eq!(
        key_of(validate_edited(
            |c| c.kafka.output.offset_table = "customer".into()
        )),
        "kafka.output.offset_table"
    );
}

#[test]
fn mapping_names_may_list_columns() {
    let mapped = |name: &str, key: &str| {
        validate_edited(|c| {
            c.kafka.output.mappings = vec![
                Mapping {
                    name: "cust_id".into(),
                    key: "(jdata->>'customer_id')".into(),
                },
                Mapping {
                    name: name.into(),
                    key: key.into(),
                },
            ]
        })
    };
    mapped("j1, j2", "(udf_parse_json(jdata)).*").unwrap();
    assert_eq!(key_of(mapped("j1,", "x")), "kafka.output.mappings[1].name");
    assert_eq!(
        key_of(mapped("s.col", "x")),
        "kafka.output.mappings[1].name"
    );
    assert_eq!(
        key_of(mapped("j1, cust_id", "x")),
        "kafka.output.mappings[1].name"
    );
    assert_eq!(key_of(mapped("j1", " ")), "kafka.output.mappings[1].key");
}

#[test]
fn the_seeds_mapping_example_parses() {
    let text = format!(
        "{}\n{}",
        MINIMAL,
        r#"[[kafka.output.mappings]]
  name= "cust_id"
  key = "(jdata->>'customer_id')"
[[kafka.output.mappings]]
  name= "field2"
  key =  "((jdata->>'some_intfield') * .075)::decimal"
[[kafka.output.mappings]]
  name= "j1, j2"
  key= "(udf_parse_json(jdata)).*"
"#
    );
    let config = Config::parse(&text).unwrap();
    config.validate().unwrap();
    assert_eq!(config.kafka.output.mappings.len(), 3);
    assert_eq!(config.kafka.output.mappings[2].name, "j1, j2");
}

#[test]
fn error_limit_takes_rows_or_percent() {
    for (spec, limit) in [
        (ErrorLimitSpec::Rows(100), ErrorLimit::Rows(100)),
        (ErrorLimitSpec::Text("7".into()), ErrorLimit::Rows(7)),
        (ErrorLimitSpec::Text("5%".into()), ErrorLimit::Percent(5.0)),
        (
            ErrorLimitSpec::Text(" 0.5 % ".into()),
            ErrorLimit::Percent(0.5),
        ),
        (
            ErrorLimitSpec::Text("100%".into()),
            ErrorLimit::Percent(100.0),
        ),
    ] {
        assert_eq!(spec.resolve(), Ok(limit), "{spec:?}");
    }
    for bad in ["101%", "-1%", "x%", "five", ""] {
        assert!(ErrorLimitSpec::Text(bad.into()).resolve().is_err(), "{bad}");
    }
    assert!(ErrorLimitSpec::Rows(-1).resolve().is_err());
    let parsed = Config::parse(&format!(
        "{MINIMAL}error_table = \"errs\"\nerror_limit = \"5%\"\n"
    ))
    .unwrap();
    parsed.validate().unwrap();
    assert_eq!(parsed.error_limit(), Some(ErrorLimit::Percent(5.0)));
    let parsed = Config::parse(&format!(
        "{MINIMAL}error_table = \"errs\"\nerror_limit = 10\n"
    ))
    .unwrap();
    assert_eq!(parsed.error_limit(), Some(ErrorLimit::Rows(10)));
}

#[test]
fn error_table_and_limit_go_together() {
    let with = |table: Option<&str>, limit: Option<ErrorLimitSpec>| {
        validate_edited(|c| {
            c.kafka.output.error_table = table.map(str::to_owned);
            c.kafka.output.error_limit = limit;
        })
    };
    with(Some("errs"), Some(ErrorLimitSpec::Rows(3))).unwrap();
    assert_eq!(key_of(with(Some("errs"), None)), "kafka.output.error_table");
    assert_eq!(
        key_of(with(None, Some(ErrorLimitSpec::Rows(3)))),
        "kafka.output.error_limit"
    );
    assert_eq!(
        key_of(with(
            Some("errs"),
            Some(ErrorLimitSpec::Text("lots".into()))
        )),
        "kafka.output.error_limit"
    );
    assert_eq!(
        key_of(with(Some("customer"), Some(ErrorLimitSpec::Rows(3)))),
        "kafka.output.error_table"
    );
    assert_eq!(
        key_of(with(Some("bad name"), Some(ErrorLimitSpec::Rows(3)))),
        "kafka.output.error_table"
    );
}

#[test]
fn commit_values_are_checked() {
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.commit.max_row = 0)),
        "kafka.commit.max_row"
    );
    assert_eq!(
        key_of(validate_edited(|c| c.kafka.commit.minimal_interval = -2)),
        "kafka.commit.minimal_interval"
    );
    validate_edited(|c| c.kafka.commit.minimal_interval = 5).unwrap();
}

#[test]
fn transform_section_is_kept() {
    let text = format!(
        "{MINIMAL}\n[kafka.transform]\nmodule = \"mask.wasm\"\n[kafka.transform.config]\nfields = [\"phone\"]\nlevel = 2\n"
    );
    let config = Config::parse(&text).unwrap();
    config.validate().unwrap();
    let transform = config.kafka.transform.as_ref().unwrap();
    assert_eq!(transform.module, "mask.wasm");
    assert_eq!(transform.config["level"].as_integer(), Some(2));
    let (key, _) = parse_err(&format!("{MINIMAL}\n[kafka.transform]\nmodul = \"x\"\n"));
    assert_eq!(key, "kafka.transform.modul");
    let empty = Config::parse(&format!("{MINIMAL}\n[kafka.transform]\nmodule = \"\"\n")).unwrap();
    assert_eq!(empty.validate().unwrap_err().key, "kafka.transform.module");
}

fn with_transform(body: &str) -> String {
    format!("{MINIMAL}\n[kafka.transform]\n{body}\n")
}

#[test]
fn transform_limits_have_defaults_and_are_checked() {
    let config = Config::parse(&with_transform("module = \"m.wasm\"")).unwrap();
    config.validate().unwrap();
    let transform = config.kafka.transform.as_ref().unwrap();
    assert_eq!(transform.batch_timeout_ms, 10_000);
    assert_eq!(transform.memory_limit_mb, 256);
    assert_eq!(transform.memory_bytes(), 256 << 20);
    assert_eq!(
        transform.batch_timeout(),
        std::time::Duration::from_secs(10)
    );

    let set = Config::parse(&with_transform(
        "module = \"m.wasm\"\nbatch_timeout_ms = 50\nmemory_limit_mb = 16",
    ))
    .unwrap();
    set.validate().unwrap();
    let transform = set.kafka.transform.as_ref().unwrap();
    assert_eq!(
        (transform.batch_timeout_ms, transform.memory_limit_mb),
        (50, 16)
    );

    for (body, key) in [
        ("batch_timeout_ms = 0", "kafka.transform.batch_timeout_ms"),
        (
            "batch_timeout_ms = 3600001",
            "kafka.transform.batch_timeout_ms",
        ),
        ("memory_limit_mb = 0", "kafka.transform.memory_limit_mb"),
        ("memory_limit_mb = 4097", "kafka.transform.memory_limit_mb"),
    ] {
        let config =
            Config::parse(&with_transform(&format!("module = \"m.wasm\"\n{body}"))).unwrap();
        let err = config.validate().unwrap_err();
        assert_eq!(err.key, key, "{body}: {err}");
    }
    // A negative number is a type error naming the key.
    let (key, _) = parse_err(&with_transform("module = \"m.wasm\"\nmemory_limit_mb = -1"));
    assert_eq!(key, "kafka.transform.memory_limit_mb");
}

#[test]
fn transform_module_stays_inside_the_transforms_dir() {
    for module in ["json_fields.wasm", "sub/mask.wasm", "./m.wasm"] {
        let config = Config::parse(&with_transform(&format!("module = \"{module}\""))).unwrap();
        config
            .validate()
            .unwrap_or_else(|e| panic!("{module}: {e}"));
    }
    for module in [
        "/abs/m.wasm",
        "../m.wasm",
        "a/../../m.wasm",
        "a&b.wasm",
        " m.wasm",
    ] {
        let config = Config::parse(&with_transform(&format!("module = \"{module}\""))).unwrap();
        let err = config.validate().unwrap_err();
        assert_eq!(err.key, "kafka.transform.module", "{module}: {err}");
    }
}

#[test]
fn transform_config_becomes_string_pairs() {
    let config = Config::parse(&with_transform(
        r#"module = "m.wasm"
[kafka.transform.config]
name = "a b"
list = "x, y"
level = 2
ratio = 0.5
whole = 1.0
on = true
when = 1979-05-27T07:32:00Z
fields = ["phone", "address, street"]
mixed = [1, "x", false]
deep = [[1, 2], []]
empty = []"#,
    ))
    .unwrap();
    config.validate().unwrap();
    let pairs = config
        .kafka
        .transform
        .as_ref()
        .unwrap()
        .config_pairs()
        .unwrap();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("deep", "[[1, 2], []]"),
            ("empty", "[]"),
            ("fields", r#"["phone", "address, street"]"#),
            ("level", "2"),
            ("list", "x, y"),
            ("mixed", r#"[1, "x", false]"#),
            ("name", "a b"),
            ("on", "true"),
            ("ratio", "0.5"),
            ("when", "1979-05-27T07:32:00Z"),
            ("whole", "1.0"),
        ]
    );
}

#[test]
fn transform_config_refuses_tables() {
    for (body, key) in [
        (
            "[kafka.transform.config.nested]\na = 1",
            "kafka.transform.config.nested",
        ),
        (
            "[kafka.transform.config]\ninline = { a = 1 }",
            "kafka.transform.config.inline",
        ),
        (
            "[kafka.transform.config]\ntables = [1, [{ a = 1 }]]",
            "kafka.transform.config.tables",
        ),
    ] {
        let text = with_transform(&format!("module = \"m.wasm\"\n{body}"));
        let config = Config::parse(&text).unwrap_or_else(|e| panic!("{body}: {e}"));
        let err = config.validate().unwrap_err();
        assert_eq!(err.key, key, "{body}: {err}");
        assert!(err.message.contains("table"), "{err}");
        assert_eq!(
            config
                .kafka
                .transform
                .as_ref()
                .unwrap()
                .config_pairs()
                .unwrap_err()
                .key,
            key
        );
    }
}

#[test]
fn a_transform_frees_json_and_binary_from_their_single_column() {
    let columns = "[[kafka.input.columns]]\nname = \"id\"\ntype = \"integer\"\n[[kafka.input.columns]]\nname = \"name\"\ntype = \"text\"\n";
    let json = MINIMAL.replace(
        "partition_num = 4\n",
        &format!("partition_num = 4\n{columns}"),
    );
    let plain = Config::parse(&json).unwrap();
    assert_eq!(plain.validate().unwrap_err().key, "kafka.input.columns");
    let transformed =
        Config::parse(&format!("{json}\n[kafka.transform]\nmodule = \"j.wasm\"\n")).unwrap();
    transformed.validate().unwrap();
    assert_eq!(transformed.columns().len(), 2);
    let binary = format!(
        "{}\n[kafka.transform]\nmodule = \"j.wasm\"\n",
        json.replace("format = \"json\"", "format = \"binary\"")
    );
    Config::parse(&binary).unwrap().validate().unwrap();
}

#[test]
fn the_transform_example_parses_and_sends_its_config() {
    let text = include_str!("../../../../examples/transform/dgkafka.toml");
    let config = Config::parse(text).unwrap();
    config.validate().unwrap();
    let transform = config.kafka.transform.as_ref().unwrap();
    assert_eq!(transform.module, "json_fields.wasm");
    assert_eq!(
        (transform.batch_timeout_ms, transform.memory_limit_mb),
        (10_000, 256)
    );
    assert_eq!(
        transform.config_pairs().unwrap(),
        [(
            "fields".to_owned(),
            "cust_id=customer_id, field2=some_intfield*0.075, j2=some_intfield".to_owned()
        )]
    );
    assert_eq!(config.columns().len(), 3);
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let err = load(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("nope.toml"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        MINIMAL.replace("partition_num = 4", "partition_num = 0"),
    )
    .unwrap();
    let err = load(&bad).unwrap_err();
    assert!(err.to_string().contains("bad.toml"));
    match err {
        ConfigError::Invalid { source, .. } => assert_eq!(source.key, "kafka.input.partition_num"),
        other => panic!("unexpected {other}"),
    }
}
