//! Records in, messages out: byte-exact through csv2kafka and kcat.

use crate::{broker, bytes, consume_payloads, csv2kafka, fixture, new_topic};

/// The lines of a `\n`-terminated file, without their line ends.
fn lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn seed_customer_rows_round_trip_byte_exact() {
    let file = fixture("customer.tbl");
    let topic = new_topic("c2k_customer", 1);
    let run = csv2kafka(
        &[
            "-d",
            "|",
            "-w",
            "|",
            broker(),
            &topic,
            file.to_str().unwrap(),
        ],
        None,
    )
    .ok()
    .stdout_has(&["6 rows", "6 acknowledged, 0 failed", "0 bad lines skipped"]);
    assert!(run.stderr.is_empty(), "unexpected stderr: {}", run.stderr);
    let want = lines(&std::fs::read(&file).unwrap());
    assert_eq!(want.len(), 6);
    assert_eq!(consume_payloads(&topic), want);
}

#[test]
fn stdin_dash_reads_standard_input() {
    let data = std::fs::read(fixture("customer.tbl")).unwrap();
    let topic = new_topic("c2k_stdin", 1);
    csv2kafka(&["-d", "|", broker(), &topic, "-"], Some(&data))
        .ok()
        .stdout_has(&["6 rows"]);
    assert_eq!(consume_payloads(&topic), lines(&data));
}

#[test]
fn quoted_fields_with_delimiters_quotes_and_newlines() {
    let topic = new_topic("c2k_quoted", 1);
    let file = fixture("quoted.csv");
    csv2kafka(
        &["--header", broker(), &topic, file.to_str().unwrap()],
        None,
    )
    .ok();
    assert_eq!(
        consume_payloads(&topic),
        bytes(&[
            r#"1,"Smith, John","He said ""hi""""#,
            "2,\"multi\nline\",plain",
            r#"3,,"trailing ""quote""""#,
        ])
    );
}

#[test]
fn crlf_line_ends_are_not_data_but_quoted_crlf_is() {
    let topic = new_topic("c2k_crlf", 1);
    let file = fixture("crlf.csv");
    csv2kafka(&[broker(), &topic, file.to_str().unwrap()], None).ok();
    assert_eq!(
        consume_payloads(&topic),
        bytes(&["a,b,c", "1,\"x\r\ny\",3", "4,5,6"])
    );
}

#[test]
fn different_read_and_write_delimiters_quote_where_needed() {
    let topic = new_topic("c2k_delims", 1);
    let file = fixture("pipes.csv");
    csv2kafka(
        &[
            "-d",
            ",",
            "-w",
            "|",
            broker(),
            &topic,
            file.to_str().unwrap(),
        ],
        None,
    )
    .ok();
    let got = consume_payloads(&topic);
    assert_eq!(
        got,
        bytes(&[
            r#"1|"a|b"|plain"#,
            "2|quoted, comma|\"x|y|z\"",
            r#"3|"he said ""no"""|end"#,
        ])
    );
    // A CSV reader splitting on '|' gets exactly the original fields back.
    let fields: Vec<Vec<String>> = got
        .iter()
        .map(|m| {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .delimiter(b'|')
                .from_reader(&m[..]);
            let rec = r.records().next().unwrap().unwrap();
            rec.iter().map(str::to_owned).collect()
        })
        .collect();
    assert_eq!(fields[0], ["1", "a|b", "plain"]);
    assert_eq!(fields[1], ["2", "quoted, comma", "x|y|z"]);
    assert_eq!(fields[2], ["3", "he said \"no\"", "end"]);
}

#[test]
fn tab_delimiter_spelled_tab() {
    let topic = new_topic("c2k_tab", 1);
    csv2kafka(
        &["-d", "tab", "-w", ",", broker(), &topic, "-"],
        Some(b"a\tb,c\td\n"),
    )
    .ok();
    assert_eq!(consume_payloads(&topic), bytes(&["a,\"b,c\",d"]));
}

#[test]
fn header_and_limit() {
    let topic = new_topic("c2k_limit", 1);
    csv2kafka(
        &["--header", "-n", "2", broker(), &topic, "-"],
        Some(b"h1,h2\n1,a\n2,b\n3,c\n"),
    )
    .ok()
    .stdout_has(&["2 rows"]);
    assert_eq!(consume_payloads(&topic), bytes(&["1,a", "2,b"]));
}

#[test]
fn a_larger_input_arrives_complete_and_in_order() {
    // Enough rows to span many batches and the bounded local queue.
    let topic = new_topic("c2k_many", 1);
    let mut data = Vec::new();
    for i in 0..50_000 {
        data.extend_from_slice(format!("{i}|name {i}|\"quoted|{i}\"\n").as_bytes());
    }
    let run = csv2kafka(&["-d", "|", "-q", broker(), &topic, "-"], Some(&data)).ok();
    assert!(
        run.stdout.is_empty(),
        "-q printed a summary: {}",
        run.stdout
    );
    assert!(run.stderr.is_empty(), "-q printed progress: {}", run.stderr);
    let got = consume_payloads(&topic);
    assert_eq!(got.len(), 50_000);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m, format!("{i}|name {i}|\"quoted|{i}\"").as_bytes());
    }
}
