//! Exact decimal numbers for numeric columns: `mantissa × 10^-scale`, up to 38 digits.

use std::fmt;
use std::str::FromStr;

/// Largest scale kept (PostgreSQL's numeric allows more; no JSON number needs it).
const MAX_SCALE: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    /// The exact product, `None` beyond 38 digits.
    pub(crate) fn checked_mul(&self, other: &Decimal) -> Option<Decimal> {
        let scale = self.scale.checked_add(other.scale)?;
        (scale <= MAX_SCALE).then_some(())?;
        Some(Decimal {
            mantissa: self.mantissa.checked_mul(other.mantissa)?,
            scale,
        })
    }
}

impl From<i64> for Decimal {
    fn from(v: i64) -> Decimal {
        Decimal {
            mantissa: i128::from(v),
            scale: 0,
        }
    }
}

impl From<u64> for Decimal {
    fn from(v: u64) -> Decimal {
        Decimal {
            mantissa: i128::from(v),
            scale: 0,
        }
    }
}

impl FromStr for Decimal {
    type Err = &'static str;

    /// Reads `-12.5`, `1.5e3`, `.5`, `7E-2` (JSON numbers and decimal text).
    fn from_str(s: &str) -> Result<Decimal, &'static str> {
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (number, exponent) = match rest.find(['e', 'E']) {
            Some(i) => {
                let e: i64 = rest[i + 1..].parse().map_err(|_| "bad exponent")?;
                (&rest[..i], e)
            }
            None => (rest, 0),
        };
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if int.is_empty() && frac.is_empty() {
            return Err("no digits");
        }
        let mut mantissa: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            if !b.is_ascii_digit() {
                return Err("not a digit");
            }
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or("too many digits")?;
        }
        let mut scale = i64::try_from(frac.len()).map_err(|_| "too many digits")? - exponent;
        while scale < 0 {
            mantissa = mantissa.checked_mul(10).ok_or("too many digits")?;
            scale += 1;
        }
        let scale = u32::try_from(scale)
            .ok()
            .filter(|&s| s <= MAX_SCALE)
            .ok_or("too many decimal places")?;
        Ok(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            scale,
        })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // u128 formatting is slow in wasm (software division); most values fit a u64.
        let abs = self.mantissa.unsigned_abs();
        let digits = u64::try_from(abs).map_or_else(|_| abs.to_string(), |v| v.to_string());
        if self.mantissa < 0 {
            f.write_str("-")?;
        }
        let scale = self.scale as usize;
        if scale == 0 {
            return f.write_str(&digits);
        }
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{int}.{frac}")
        } else {
            write!(f, "0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints() {
        for (input, printed) in [
            ("0", "0"),
            ("12", "12"),
            ("-12.50", "-12.50"),
            (".5", "0.5"),
            ("0.075", "0.075"),
            ("1.5e3", "1500"),
            ("7E-2", "0.07"),
            ("-0.001", "-0.001"),
            ("+3", "3"),
        ] {
            assert_eq!(d(input).to_string(), printed, "{input}");
        }
        assert_eq!("".parse::<Decimal>(), Err("no digits"));
        assert_eq!(".".parse::<Decimal>(), Err("no digits"));
        assert_eq!("1x".parse::<Decimal>(), Err("not a digit"));
        assert_eq!("1e".parse::<Decimal>(), Err("bad exponent"));
        assert_eq!("1e40".parse::<Decimal>(), Err("too many digits"));
        assert_eq!("1e-2000".parse::<Decimal>(), Err("too many decimal places"));
    }

    #[test]
    fn multiplies_exactly() {
        assert_eq!(d("7").checked_mul(&d(".075")).unwrap().to_string(), "0.525");
        assert_eq!(
            d("-12").checked_mul(&d("0.075")).unwrap().to_string(),
            "-0.900"
        );
        assert_eq!(d("0.1").checked_mul(&d("0.2")).unwrap().to_string(), "0.02");
        assert!(d("1e37").checked_mul(&d("100")).is_none());
        assert_eq!(Decimal::from(-7i64), d("-7"));
        assert_eq!(Decimal::from(u64::MAX).to_string(), u64::MAX.to_string());
        assert_eq!(
            Decimal::from(u64::MAX)
                .checked_mul(&d("100.0"))
                .unwrap()
                .to_string(),
            "1844674407370955161500.0"
        );
    }
}
