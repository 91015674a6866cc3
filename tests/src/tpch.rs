//! TPC-H `customer` rows as the seed shows them: 8 `|`-separated fields, without
//! the trailing delimiter of dbgen's `.tbl` format.

use std::io::{self, Write};

use tpchgen::generators::CustomerGenerator;

/// Rows per scale factor of the `customer` table.
const CUSTOMERS_PER_SCALE_FACTOR: usize = 150_000;

/// Writes the first `rows` customer rows, one per line.
pub fn write_customer_rows(rows: usize, out: &mut impl Write) -> io::Result<()> {
    // The smallest whole scale factor that has enough rows; its first rows are
    // the same whatever the scale factor.
    let scale_factor = rows.div_ceil(CUSTOMERS_PER_SCALE_FACTOR).max(1) as f64;
    for c in CustomerGenerator::new(scale_factor, 1, 1).iter().take(rows) {
        writeln!(
            out,
            "{}|{}|{}|{}|{}|{}|{}|{}",
            c.c_custkey,
            c.c_name,
            c.c_address,
            c.c_nationkey,
            c.c_phone,
            c.c_acctbal,
            c.c_mktsegment,
            c.c_comment
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_rows_are_the_seed_sample() {
        let mut out = Vec::new();
        write_customer_rows(2, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1|Customer#000000001|IVhzIApeRb ot,c,E|15|25-989-741-2988|711.56|BUILDING|to the even, regular platelets. regular, ironic epitaphs nag e\n\
             2|Customer#000000002|XSTf4,NCwDVaWNe6tEgvwfmRchLXak|13|23-768-687-3665|121.65|AUTOMOBILE|l accounts. blithely ironic theodolites integrate boldly: caref\n"
        );
    }
}
