//! Keys (`-k`) and fixed partitions (`-p`).

use std::collections::{BTreeMap, BTreeSet};

use dgkafka_testkit::kcat_consume_all;

use crate::{broker, csv2kafka, new_topic};

/// The Java client's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`).
fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java producer's default partitioner picks for a key.
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

#[test]
fn murmur2_matches_kafkas_own_test_vectors() {
    // From Kafka's UtilsTest.testMurmur2.
    assert_eq!(murmur2(b"21"), -973_932_308);
    assert_eq!(murmur2(b"foobar"), -790_332_482);
    assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
    assert_eq!(murmur2(b"a-little-bit-longer-string"), -1_486_304_829);
    assert_eq!(murmur2(b"abc"), 479_470_107);
}

fn keyed_rows() -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..300 {
        data.extend_from_slice(format!("{i},customer-{},payload {i}\n", i % 23).as_bytes());
    }
    data
}

#[test]
fn same_key_same_partition_across_runs_and_where_java_puts_it() {
    let topic = new_topic("c2k_keys", 3);
    let data = keyed_rows();
    for _ in 0..2 {
        csv2kafka(&["-k", "2", broker(), &topic, "-"], Some(&data))
            .ok()
            .stdout_has(&["300 rows"]);
    }
    let messages = kcat_consume_all(&topic);
    assert_eq!(messages.len(), 600);
    let mut by_key: BTreeMap<Vec<u8>, BTreeSet<i32>> = BTreeMap::new();
    for m in &messages {
        let key = m.key.clone().expect("every message has a key");
        let payload = m.payload.as_deref().unwrap();
        // The key is the second column of the message itself.
        let second = payload.split(|&b| b == b',').nth(1).unwrap();
        assert_eq!(key, second);
        by_key.entry(key).or_default().insert(m.partition);
    }
    assert_eq!(by_key.len(), 23);
    let used: BTreeSet<i32> = by_key.values().flatten().copied().collect();
    assert!(used.len() > 1, "23 keys all landed in one partition");
    for (key, partitions) in by_key {
        let want = java_partition(&key, 3);
        assert_eq!(
            partitions,
            BTreeSet::from([want]),
            "key {:?}",
            String::from_utf8_lossy(&key)
        );
    }
}

#[test]
fn fixed_partition() {
    let topic = new_topic("c2k_fixed", 3);
    csv2kafka(&["-p", "2", broker(), &topic, "-"], Some(b"a\nb\nc\n")).ok();
    let messages = kcat_consume_all(&topic);
    assert_eq!(messages.len(), 3);
    assert!(messages.iter().all(|m| m.partition == 2), "{messages:?}");
    assert!(messages.iter().all(|m| m.key.is_none()));
}

#[test]
fn partition_the_topic_does_not_have_is_a_usage_error() {
    let topic = new_topic("c2k_nopart", 3);
    csv2kafka(&["-p", "3", broker(), &topic, "-"], Some(b"a\n"))
        .code(2)
        .stderr_has(&["partition 3 does not exist", "3 partition(s)"]);
    assert!(kcat_consume_all(&topic).is_empty());
}
