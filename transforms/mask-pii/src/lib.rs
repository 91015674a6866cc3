//! `mask-pii`: masks the personal columns of CSV rows before they are loaded, such as the
//! phone and address of TPC-H `customer` rows.
//!
//! Input: a csv-format topic (`kafka.input.columns` names the fields, e.g. `c_custkey int,
//! c_name text, c_address text, c_nationkey int, c_phone text, c_acctbal numeric,
//! c_mktsegment text, c_comment text`), one text value per field. Output: the columns of
//! the target table, each taken by name from the input, the masked ones masked; all go
//! through as text, which the loader parses by the column's type as it parses CSV.
//!
//! ```toml
//! [kafka.transform]
//! module = "mask_pii.wasm"
//! [kafka.transform.config]
//! # The columns to mask, as `column` or `column:method`, comma-separated.
//! columns = "c_phone, c_address"
//! # The method of a column given without one: `phone` for names containing "phone",
//! # otherwise this (default "mask").
//! method = "hash"
//! hash_key = "a secret of the pipeline"   # required by `hash`
//! # keep_digits = 4                        # `phone`: the trailing digits kept
//! # mask_text = "****"                     # `mask`: the replacement
//! ```
//!
//! Methods:
//! - `phone`: every digit but the last `keep_digits` becomes `*`, separators stay:
//!   `25-989-741-2988` → `**-***-***-2988`.
//! - `mask`: the value becomes `mask_text`.
//! - `hash`: the value becomes the hex HMAC-SHA256 of it under `hash_key`: the same input
//!   always gives the same output (joins and counts still work), and without the key it
//!   cannot be recomputed from a guess.
//!
//! NULL stays NULL. A column in `columns` that the input does not have is an init error
//! naming it; so is an output column the input does not have.

use dgkafka_transform_sdk::prelude::*;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The keyed hash of `text`, as lowercase hex.
fn keyed_hash(mac: &HmacSha256, text: &str) -> String {
    let mut mac = mac.clone();
    mac.update(text.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const KEYS: &[&str] = &["columns", "method", "hash_key", "keep_digits", "mask_text"];

pub struct MaskPii {
    /// Per output column: the input column it comes from and how it is masked.
    columns: Vec<(usize, Option<Method>)>,
}

#[derive(Clone)]
enum Method {
    Phone { keep: usize },
    Mask(String),
    Hash(Box<HmacSha256>),
}

impl Method {
    fn apply(&self, text: &str) -> String {
        match self {
            Method::Phone { keep } => mask_phone(text, *keep),
            Method::Mask(mask) => mask.clone(),
            Method::Hash(mac) => keyed_hash(mac, text),
        }
    }
}

impl Transform for MaskPii {
    fn init(config: &Config, input: &Schema, output: &Schema) -> Result<Self> {
        config.deny_unknown(KEYS)?;
        let listed = config.get_list("columns")?;
        if listed.is_empty() {
            return Err(
                "config key `columns` is required: the columns to mask, e.g. \"c_phone, c_address\""
                    .into(),
            );
        }
        let default_method = config.get_str_or("method", "mask");
        let keep = config.get_or::<usize>("keep_digits", 4)?;
        let mask_text = config.get_str_or("mask_text", "****");

        let mut methods: Vec<Option<Method>> = vec![None; input.len()];
        for entry in &listed {
            let (name, method) = match entry.split_once(':') {
                Some((name, method)) => (name.trim(), method.trim()),
                None if entry.contains("phone") => (entry.as_str(), "phone"),
                None => (entry.as_str(), default_method),
            };
            let index = input.require(name).context(format!(
                "config key `columns`: `{name}` is not an input column"
            ))?;
            let method = match method {
                "phone" => Method::Phone { keep },
                "mask" => Method::Mask(mask_text.to_owned()),
                "hash" => {
                    let key = config
                        .require("hash_key")
                        .context(format!("column `{name}` is hashed (method `hash`)"))?;
                    Method::Hash(Box::new(
                        HmacSha256::new_from_slice(key.as_bytes())
                            .expect("HMAC takes keys of any length"),
                    ))
                }
                other => {
                    return Err(Error::new(format!(
                        "config key `columns`: `{entry}`: unknown method `{other}` \
                         (methods: phone, mask, hash)"
                    )));
                }
            };
            methods[index] = Some(method);
        }

        let columns = output
            .columns()
            .iter()
            .map(|c| {
                let index = input
                    .require(&c.name)
                    .context(format!("output column `{}` is not an input column", c.name))?;
                Ok((index, methods[index].clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MaskPii { columns })
    }

    fn transform(&mut self, row: &Row, out: &mut Output) -> Result<()> {
        let mut values = Vec::with_capacity(self.columns.len());
        for (index, method) in &self.columns {
            let value = row.get(*index).cloned().unwrap_or(Value::Null);
            let value = match (method, value) {
                (_, Value::Null) => Value::Null,
                (None, value) => value,
                (Some(method), Value::Text(text)) => Value::Text(method.apply(&text)),
                (Some(_), other) => {
                    let name = &row.schema().columns()[*index].name;
                    return Err(Error::new(format!(
                        "column `{name}` is a {} value; mask-pii masks text (csv) fields",
                        other.kind_name()
                    )));
                }
            };
            values.push(value);
        }
        out.emit(values);
        Ok(())
    }
}

dgkafka_transform_sdk::export_transform!(MaskPii);

/// Every digit but the last `keep` becomes `*`; everything else stays.
fn mask_phone(text: &str, keep: usize) -> String {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let mut to_mask = digits.saturating_sub(keep);
    text.chars()
        .map(|c| {
            if c.is_ascii_digit() && to_mask > 0 {
                to_mask -= 1;
                '*'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dgkafka_transform_sdk::testing::Harness;

    const CUSTOMER: &str = "c_custkey int, c_name text, c_address text, c_nationkey int, \
                            c_phone text, c_acctbal numeric(15,2), c_mktsegment text, \
                            c_comment text";

    fn harness(config: &[(&str, &str)]) -> Result<Harness<MaskPii>> {
        Harness::new(config.iter().copied(), CUSTOMER, CUSTOMER)
    }

    fn texts(o: &Outcome) -> Vec<Option<&str>> {
        o.kept()
            .expect("a kept row")
            .iter()
            .map(Value::as_text)
            .collect()
    }

    #[test]
    fn masks_phone_and_address_keeps_the_rest() {
        let mut h = harness(&[("columns", "c_phone,c_address")]).unwrap();
        let o = h.run_csv(&[
            "1,Customer#000000001,IVhzIApeRb ot c,15,25-989-741-2988,711.56,BUILDING,\
             \"to the even, regular platelets\"",
            "2,Customer#000000002,,13,,121.65,AUTOMOBILE,\"quoted, comment\"",
        ]);
        assert_eq!(
            texts(&o[0]),
            [
                Some("1"),
                Some("Customer#000000001"),
                Some("****"),
                Some("15"),
                Some("**-***-***-2988"),
                Some("711.56"),
                Some("BUILDING"),
                Some("to the even, regular platelets"),
            ]
        );
        // NULL stays NULL.
        assert_eq!(o[1].kept().unwrap()[2], Value::Null);
        assert_eq!(o[1].kept().unwrap()[4], Value::Null);
        assert_eq!(texts(&o[1])[7], Some("quoted, comment"));
    }

    #[test]
    fn hashing_is_keyed_and_stable() {
        let config = [
            ("columns", "c_phone, c_address, c_name:mask"),
            ("method", "hash"),
            ("hash_key", "k1"),
            ("keep_digits", "2"),
            ("mask_text", "X"),
        ];
        let mut h = harness(&config).unwrap();
        let line = "1,Alice,1 Main St,15,25-989-741-2988,1,B,c";
        let o = h.run_csv(&[line, line]);
        let t = texts(&o[0]);
        assert_eq!(t[1], Some("X"));
        assert_eq!(t[4], Some("**-***-***-**88"));
        let hashed = t[2].unwrap();
        assert_eq!(hashed.len(), 64);
        assert_eq!(o[0], o[1]);
        assert_eq!(
            hashed,
            keyed_hash(&HmacSha256::new_from_slice(b"k1").unwrap(), "1 Main St")
        );
        // RFC 4231, test case 2.
        assert_eq!(
            keyed_hash(
                &HmacSha256::new_from_slice(b"Jefe").unwrap(),
                "what do ya want for nothing?"
            ),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mut other = harness(&[
            ("columns", "c_address"),
            ("method", "hash"),
            ("hash_key", "k2"),
        ])
        .unwrap();
        let o2 = other.run_csv(&[line]);
        assert_ne!(texts(&o2[0])[2], Some(hashed));
    }

    #[test]
    fn output_may_be_a_subset_in_another_order() {
        let mut h = Harness::<MaskPii>::new(
            [("columns", "c_phone")],
            CUSTOMER,
            "c_phone text, c_custkey bigint",
        )
        .unwrap();
        let o = h.run_csv(&["7,n,a,1,123-4567,0,S,c"]);
        assert_eq!(
            o[0],
            Outcome::Keep(vec![Value::text("***-4567"), Value::text("7")])
        );
    }

    #[test]
    fn config_errors_name_the_column() {
        let err = |config: &[(&str, &str)]| harness(config).err().unwrap().to_string();
        assert_eq!(
            err(&[("columns", "c_phone,c_email")]),
            "config key `columns`: `c_email` is not an input column: no column named \
             `c_email` (the columns are: c_custkey, c_name, c_address, c_nationkey, c_phone, \
             c_acctbal, c_mktsegment, c_comment)"
        );
        assert_eq!(
            err(&[("columns", "c_address"), ("method", "hash")]),
            "column `c_address` is hashed (method `hash`): config key `hash_key` is \
             required: set it in [kafka.transform.config]"
        );
        assert_eq!(
            err(&[("columns", "c_name:rot13")]),
            "config key `columns`: `c_name:rot13`: unknown method `rot13` (methods: phone, \
             mask, hash)"
        );
        assert!(err(&[]).starts_with("config key `columns` is required"));
        assert_eq!(
            err(&[("columns", "c_phone"), ("keep_digits", "-1")]),
            "config key `keep_digits`: cannot read `-1` as a non-negative integer: invalid \
             digit found in string"
        );
        let e = Harness::<MaskPii>::new([("columns", "c_phone")], CUSTOMER, "c_email text")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("output column `c_email` is not an input column"),
            "{e}"
        );
    }

    #[test]
    fn non_text_values_are_row_errors() {
        let mut h = Harness::<MaskPii>::new([("columns", "v")], "v bytea", "v bytea").unwrap();
        let row = h.bytes_row(b"x");
        assert_eq!(
            h.run_one(row).error(),
            Some("column `v` is a bytes value; mask-pii masks text (csv) fields")
        );
    }

    #[test]
    fn phone_masking_keeps_separators() {
        assert_eq!(mask_phone("25-989-741-2988", 4), "**-***-***-2988");
        assert_eq!(mask_phone("+1 (555) 010-9999", 4), "+* (***) ***-9999");
        assert_eq!(mask_phone("123", 4), "123");
        assert_eq!(mask_phone("12345", 0), "*****");
    }

    #[test]
    fn sample_file_loads() {
        let sample = include_str!("../sample.csv");
        let lines: Vec<&str> = sample.lines().filter(|l| !l.is_empty()).collect();
        let mut h = harness(&[("columns", "c_phone,c_address")]).unwrap();
        let o = h.run_csv(&lines);
        assert_eq!(o.len(), lines.len());
        for o in &o {
            let t = texts(o);
            assert_eq!(t[2], Some("****"));
            assert!(t[4].unwrap().starts_with("**-***-***-"), "{t:?}");
        }
    }
}
