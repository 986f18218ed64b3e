//! Go's time formats where agnhost prints or parses them: `time.ParseDuration`,
//! `Duration.String` and `Time.String` (with its monotonic `m=+…` suffix).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

static START: OnceLock<Instant> = OnceLock::new();

/// Records the process start for the monotonic part of [`now_string`]; idempotent.
pub(crate) fn mark_start() -> Instant {
    *START.get_or_init(Instant::now)
}

/// Go's `time.Now().String()`: `2006-01-02 15:04:05.999999999 -0700 MST m=+0.000000001`.
pub(crate) fn now_string() -> String {
    let mono = mark_start().elapsed();
    let now = jiff::Zoned::now();
    let mut s = now.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = now.subsec_nanosecond();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push_str(&now.strftime(" %z %Z").to_string());
    s.push_str(&format!(
        " m=+{}.{:09}",
        mono.as_secs(),
        mono.subsec_nanos()
    ));
    s
}

/// Go's `time.ParseDuration`, in signed nanoseconds.
pub(crate) fn parse_duration(input: &str) -> Result<i128, String> {
    let err = || format!("time: invalid duration {input:?}");
    let (neg, mut s) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut total: i128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &rest[..n];
            s = &rest[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {input:?}")),
            _ => return Err(format!("time: unknown unit {unit:?} in duration {input:?}")),
        };
        let int: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| err())?
        };
        total += int * scale;
        let mut place = scale;
        for d in frac_part.bytes() {
            place /= 10;
            if place == 0 {
                break;
            }
            total += i128::from(d - b'0') * place;
        }
        if total > i128::from(i64::MAX) {
            return Err(err());
        }
    }
    Ok(if neg { -total } else { total })
}

/// A non-negative Go duration as a std [`Duration`] (negative ones are zero, as `time.Sleep`).
pub(crate) fn to_std(nanos: i128) -> Duration {
    u64::try_from(nanos).map_or(Duration::ZERO, Duration::from_nanos)
}

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_string();
    }
    if ns < 1_000_000_000 {
        let (prec, unit) = if ns < 1_000 {
            (0, "ns")
        } else if ns < 1_000_000 {
            (3, "\u{b5}s")
        } else {
            (6, "ms")
        };
        return format!("{}{unit}", frac(ns, prec));
    }
    let secs = ns / 1_000_000_000;
    let sub = ns % 1_000_000_000;
    let mut s = String::new();
    let (h, m, sec) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        s.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        s.push_str(&format!("{m}m"));
    }
    s.push_str(&frac(sec * 1_000_000_000 + sub, 9));
    s.push('s');
    s
}

/// `v / 10^prec` printed with its fraction, trailing zeros trimmed.
fn frac(v: u128, prec: u32) -> String {
    let p = 10u128.pow(prec);
    let (int, rem) = (v / p, v % p);
    if rem == 0 {
        return int.to_string();
    }
    let digits = format!("{rem:0width$}", width = prec as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_like_go() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("1s"), Ok(1_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("1h2m"), Ok(3_720_000_000_000));
        assert_eq!(parse_duration("-2ms"), Ok(-2_000_000));
        assert_eq!(parse_duration(".5us"), Ok(500));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn format_like_go() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_nanos(42)), "42ns");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(format_duration(Duration::from_nanos(1_500)), "1.5\u{b5}s");
        assert_eq!(format_duration(Duration::from_millis(3500)), "3.5s");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m0s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_duration(Duration::new(3723, 1)), "1h2m3.000000001s");
    }

    #[test]
    fn now_has_go_shape() {
        let s = now_string();
        assert!(s.contains(" m=+"), "{s}");
        assert_eq!(&s[4..5], "-");
    }
}
