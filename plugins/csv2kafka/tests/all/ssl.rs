//! The seed's SSL example against the SSL listener (client certificates required).

use std::time::Duration;

use dgkafka_testkit::env;

use crate::{consume_payloads, csv2kafka, fixture, new_topic};

fn run(extra: &[&str], password: Option<&str>, topic: &str) -> crate::Run {
    let file = fixture("customer.tbl");
    let mut args: Vec<String> = ["-d", "|", "-w", "|"].map(str::to_owned).to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.extend(env().ssl_x_args(password));
    args.extend([
        env().kafka_ssl_bootstrap.clone(),
        topic.to_owned(),
        file.display().to_string(),
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    csv2kafka(&refs, None)
}

#[test]
fn seed_ssl_example_works_and_keeps_the_password_out_of_logs() {
    let topic = new_topic("c2k_ssl", 3);
    let run = run(&["-v"], None, &topic)
        .ok()
        .stdout_has(&["6 rows", "6 acknowledged"])
        .stderr_has(&["ssl.key.password=[redacted]", "security.protocol=SSL"]);
    assert!(
        !run.stderr.contains(&env().ssl_key_password),
        "the key password appears in the logs:\n{}",
        run.stderr
    );
    let data = std::fs::read(fixture("customer.tbl")).unwrap();
    let mut want: Vec<Vec<u8>> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let mut got = consume_payloads(&topic);
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn wrong_key_password_is_a_clear_error_not_a_hang() {
    let topic = new_topic("c2k_ssl_badpw", 1);
    let run = run(&[], Some("not-the-password"), &topic)
        .code(2)
        .stderr_has(&["ssl.key", "check ssl.key.password"]);
    assert!(!run.stderr.contains("not-the-password"), "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
    assert!(consume_payloads(&topic).is_empty());
}

#[test]
fn plaintext_client_on_the_ssl_listener_fails_within_the_timeout() {
    let topic = new_topic("c2k_ssl_plain", 1);
    let file = fixture("customer.tbl");
    let run = csv2kafka(
        &[
            "--timeout",
            "3",
            &env().kafka_ssl_bootstrap,
            &topic,
            file.to_str().unwrap(),
        ],
        None,
    )
    .code(4)
    .stderr_has(&["cannot reach the brokers", "within 3 s"]);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
}
