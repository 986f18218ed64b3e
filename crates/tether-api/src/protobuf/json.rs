//! Encoded messages to JSON, driven by the schema table.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::ProtoError;
use super::schema::{Card, Field, Message, Ty};
use super::wire::{Reader, Wire};

/// Deeper nesting is rejected. The served kinds nest about 15 levels.
pub(super) const MAX_DEPTH: usize = 64;

/// Go's zero `time.Time` as Unix seconds (January 1, year 1, UTC).
const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// What one field collected while the message was read.
#[derive(Debug)]
enum Slot<'a> {
    Empty,
    /// A singular scalar: the last occurrence.
    Scalar(Value),
    /// A singular message: all occurrences, to be merged.
    Chunks(Vec<&'a [u8]>),
    /// A repeated field.
    List(Vec<Value>),
    /// A map field.
    Entries(Map<String, Value>),
}

/// Decodes the message `msg` encoded in `buf` into a JSON object.
pub(super) fn message(
    msg: &'static Message,
    buf: &[u8],
    depth: usize,
) -> Result<Map<String, Value>, ProtoError> {
    if depth > MAX_DEPTH {
        return Err(ProtoError::TooDeep(MAX_DEPTH));
    }
    let mut slots: Vec<Slot<'_>> = msg.fields.iter().map(|_| Slot::Empty).collect();
    let mut reader = Reader::new(buf);
    while let Some((num, wire)) = reader.next_field()? {
        // Unknown fields are skipped, as upstream does (the reader has checked them).
        let Some(idx) = msg.find(num) else { continue };
        let (Some(field), Some(slot)) = (msg.fields.get(idx), slots.get_mut(idx)) else {
            continue;
        };
        collect(msg, field, wire, slot, depth)?;
    }
    let mut out = Map::new();
    for (field, slot) in msg.fields.iter().zip(slots) {
        match slot {
            Slot::Empty => {}
            Slot::Scalar(v) => {
                if !(field.card == Card::OmitEmpty && is_zero(&v)) {
                    out.insert(field.name.to_owned(), v);
                }
            }
            Slot::Chunks(chunks) => {
                let bytes: Cow<'_, [u8]> = match chunks.as_slice() {
                    [one] => Cow::Borrowed(*one),
                    many => Cow::Owned(many.concat()),
                };
                let v = value(msg, field, field.ty, &bytes, depth)?;
                if field.card == Card::Inline {
                    if let Value::Object(inner) = v {
                        out.extend(inner);
                    }
                } else {
                    out.insert(field.name.to_owned(), v);
                }
            }
            Slot::List(items) => {
                out.insert(field.name.to_owned(), Value::Array(items));
            }
            Slot::Entries(entries) => {
                out.insert(field.name.to_owned(), Value::Object(entries));
            }
        }
    }
    Ok(out)
}

/// Adds one occurrence of `field` to its slot.
fn collect<'a>(
    msg: &'static Message,
    field: &'static Field,
    wire: Wire<'a>,
    slot: &mut Slot<'a>,
    depth: usize,
) -> Result<(), ProtoError> {
    match field.card {
        Card::Field | Card::OmitEmpty | Card::Inline => {
            if is_message(field.ty) {
                let bytes = len(msg, field, wire)?;
                match slot {
                    Slot::Chunks(chunks) => chunks.push(bytes),
                    _ => *slot = Slot::Chunks(vec![bytes]),
                }
            } else {
                *slot = Slot::Scalar(scalar(msg, field, field.ty, wire)?);
            }
        }
        Card::Repeated => {
            if !matches!(slot, Slot::List(_)) {
                *slot = Slot::List(Vec::new());
            }
            let Slot::List(items) = slot else {
                return Ok(());
            };
            match wire {
                // Packed repeated varints.
                Wire::Len(bytes) if field.ty.is_varint() => {
                    let mut r = Reader::new(bytes);
                    while !r.is_empty() {
                        items.push(scalar(msg, field, field.ty, Wire::Varint(r.varint()?))?);
                    }
                }
                _ if is_message(field.ty) => {
                    let bytes = len(msg, field, wire)?;
                    items.push(value(msg, field, field.ty, bytes, depth)?);
                }
                _ => items.push(scalar(msg, field, field.ty, wire)?),
            }
        }
        Card::Map => {
            let entry = len(msg, field, wire)?;
            let (key, val) = map_entry(msg, field, entry, depth)?;
            if !matches!(slot, Slot::Entries(_)) {
                *slot = Slot::Entries(Map::new());
            }
            if let Slot::Entries(entries) = slot {
                entries.insert(key, val);
            }
        }
    }
    Ok(())
}

/// A map entry `{1: key, 2: value}`; missing parts take their defaults.
fn map_entry(
    msg: &'static Message,
    field: &'static Field,
    entry: &[u8],
    depth: usize,
) -> Result<(String, Value), ProtoError> {
    let mut key = String::new();
    let mut val: Option<Value> = None;
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut r = Reader::new(entry);
    while let Some((num, wire)) = r.next_field()? {
        match num {
            1 => key = string(len(msg, field, wire)?),
            2 if is_message(field.ty) => chunks.push(len(msg, field, wire)?),
            2 => val = Some(scalar(msg, field, field.ty, wire)?),
            _ => {}
        }
    }
    let val = match val {
        Some(v) => v,
        None if is_message(field.ty) => value(msg, field, field.ty, &chunks.concat(), depth)?,
        None => scalar_default(field.ty),
    };
    Ok((key, val))
}

const fn is_message(ty: Ty) -> bool {
    !matches!(ty, Ty::Str | Ty::Bool | Ty::I32 | Ty::I64 | Ty::Bytes)
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

fn scalar_default(ty: Ty) -> Value {
    match ty {
        Ty::Bool => Value::Bool(false),
        Ty::I32 | Ty::I64 => Value::from(0),
        _ => Value::String(String::new()),
    }
}

fn string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn wrong_wire(
    msg: &'static Message,
    field: &'static Field,
    wire: Wire<'_>,
    want: u8,
) -> ProtoError {
    ProtoError::WrongWireType {
        message: msg.name,
        field: field.name,
        found: wire.wire_type(),
        expected: want,
    }
}

fn invalid(msg: &'static Message, field: &'static Field, reason: impl Into<String>) -> ProtoError {
    ProtoError::InvalidValue {
        message: msg.name,
        field: field.name,
        reason: reason.into(),
    }
}

fn len<'a>(
    msg: &'static Message,
    field: &'static Field,
    wire: Wire<'a>,
) -> Result<&'a [u8], ProtoError> {
    match wire {
        Wire::Len(b) => Ok(b),
        other => Err(wrong_wire(msg, field, other, 2)),
    }
}

fn varint(msg: &'static Message, field: &'static Field, wire: Wire<'_>) -> Result<u64, ProtoError> {
    match wire {
        Wire::Varint(v) => Ok(v),
        other => Err(wrong_wire(msg, field, other, 0)),
    }
}

/// A scalar (`string`, `bool`, `int32`, `int64`, `bytes`) value.
fn scalar(
    msg: &'static Message,
    field: &'static Field,
    ty: Ty,
    wire: Wire<'_>,
) -> Result<Value, ProtoError> {
    Ok(match ty {
        Ty::Str => Value::String(string(len(msg, field, wire)?)),
        Ty::Bytes => Value::String(BASE64.encode(len(msg, field, wire)?)),
        Ty::Bool => Value::Bool(varint(msg, field, wire)? != 0),
        // int32 keeps the low 32 bits of the varint, as every protobuf decoder does.
        Ty::I32 => Value::from(varint(msg, field, wire)? as i32),
        Ty::I64 => Value::from(varint(msg, field, wire)? as i64),
        _ => return Err(invalid(msg, field, "not a scalar")),
    })
}

/// A message-typed value (object or special message) from its encoded bytes.
fn value(
    msg: &'static Message,
    field: &'static Field,
    ty: Ty,
    bytes: &[u8],
    depth: usize,
) -> Result<Value, ProtoError> {
    Ok(match ty {
        Ty::Msg(inner) => Value::Object(message(inner, bytes, depth + 1)?),
        Ty::IntOrString => int_or_string(msg, field, bytes)?,
        Ty::Quantity => quantity(msg, field, bytes)?,
        Ty::Time => time(msg, field, bytes)?,
        Ty::MicroTime => micro_time(msg, field, bytes)?,
        Ty::Duration => duration(msg, field, bytes)?,
        Ty::RawExtension | Ty::FieldsV1 => raw_json(msg, field, bytes)?,
        Ty::Str | Ty::Bool | Ty::I32 | Ty::I64 | Ty::Bytes => {
            return Err(invalid(msg, field, "not a message"));
        }
    })
}

/// `IntOrString{1: type int64, 2: intVal int32, 3: strVal string}`.
fn int_or_string(
    msg: &'static Message,
    field: &'static Field,
    bytes: &[u8],
) -> Result<Value, ProtoError> {
    let (mut kind, mut int_val, mut str_val) = (0u64, 0i32, String::new());
    let mut r = Reader::new(bytes);
    while let Some((num, wire)) = r.next_field()? {
        match num {
            1 => kind = varint(msg, field, wire)?,
            2 => int_val = varint(msg, field, wire)? as i32,
            3 => str_val = string(len(msg, field, wire)?),
            _ => {}
        }
    }
    match kind {
        0 => Ok(Value::from(int_val)),
        1 => Ok(Value::String(str_val)),
        other => Err(invalid(msg, field, format!("IntOrString type {other}"))),
    }
}

/// `Quantity{1: string}`, kept in the (canonical) form the client sent. An absent string is
/// the zero quantity `"0"`; an empty one does not parse upstream either.
fn quantity(
    msg: &'static Message,
    field: &'static Field,
    bytes: &[u8],
) -> Result<Value, ProtoError> {
    let mut s: Option<String> = None;
    let mut r = Reader::new(bytes);
    while let Some((num, wire)) = r.next_field()? {
        if num == 1 {
            s = Some(string(len(msg, field, wire)?));
        }
    }
    match s {
        None => Ok(Value::String("0".to_owned())),
        Some(s) if s.is_empty() => Err(invalid(msg, field, "empty quantity")),
        Some(s) => Ok(Value::String(s)),
    }
}

/// `Timestamp{1: seconds int64, 2: nanos int32}`: `None` for an empty message.
fn timestamp(
    msg: &'static Message,
    field: &'static Field,
    bytes: &[u8],
) -> Result<Option<(i64, i32)>, ProtoError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let (mut seconds, mut nanos) = (0i64, 0i32);
    let mut r = Reader::new(bytes);
    while let Some((num, wire)) = r.next_field()? {
        match num {
            1 => seconds = varint(msg, field, wire)? as i64,
            2 => nanos = varint(msg, field, wire)? as i32,
            _ => {}
        }
    }
    Ok(Some((seconds, nanos)))
}

/// Seconds since the epoch of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the years
/// RFC 3339 can write.
const MIN_SECONDS: i64 = -62_167_219_200;
const MAX_SECONDS: i64 = 253_402_300_799;

/// `YYYY-MM-DDTHH:MM:SS` in UTC for Unix `seconds` within years 0..=9999.
fn format_seconds(
    msg: &'static Message,
    field: &'static Field,
    seconds: i64,
) -> Result<String, ProtoError> {
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
        return Err(invalid(
            msg,
            field,
            format!("time {seconds}s outside years 0-9999"),
        ));
    }
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Days to the proleptic Gregorian calendar, in 400-year eras starting on March 1.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Ok(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ))
}

/// `metav1.Time`: whole seconds (upstream drops the nanoseconds when decoding), `null` when
/// zero (an empty message or Go's zero time).
fn time(msg: &'static Message, field: &'static Field, bytes: &[u8]) -> Result<Value, ProtoError> {
    let Some((seconds, _)) = timestamp(msg, field, bytes)? else {
        return Ok(Value::Null);
    };
    if seconds == GO_ZERO_UNIX {
        return Ok(Value::Null);
    }
    Ok(Value::String(format!(
        "{}Z",
        format_seconds(msg, field, seconds)?
    )))
}

/// `metav1.MicroTime`: six fractional digits, `null` when zero.
fn micro_time(
    msg: &'static Message,
    field: &'static Field,
    bytes: &[u8],
) -> Result<Value, ProtoError> {
    let Some((seconds, nanos)) = timestamp(msg, field, bytes)? else {
        return Ok(Value::Null);
    };
    // Upstream truncates to microseconds (toward zero), then time.Unix normalizes
    // nanoseconds outside [0, 1e9) into the seconds.
    let nanos = nanos - nanos % 1000;
    let seconds = seconds.checked_add(i64::from(nanos.div_euclid(1_000_000_000)));
    let nanos = nanos.rem_euclid(1_000_000_000);
    let Some(seconds) = seconds else {
        return Err(invalid(msg, field, "time out of range"));
    };
    if seconds == GO_ZERO_UNIX && nanos == 0 {
        return Ok(Value::Null);
    }
    Ok(Value::String(format!(
        "{}.{:06}Z",
        format_seconds(msg, field, seconds)?,
        nanos / 1000
    )))
}

/// `metav1.Duration{1: duration int64 nanoseconds}`.
fn duration(
    msg: &'static Message,
    field: &'static Field,
    bytes: &[u8],
) -> Result<Value, ProtoError> {
    let mut nanos = 0i64;
    let mut r = Reader::new(bytes);
    while let Some((num, wire)) = r.next_field()? {
        if num == 1 {
            nanos = varint(msg, field, wire)? as i64;
        }
    }
    Ok(Value::String(go_duration(nanos)))
}

/// Go's `time.Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(super) fn go_duration(d: i64) -> String {
    fn frac(v: u64, prec: u32) -> (u64, String) {
        let p = 10u64.pow(prec);
        let (int, rem) = (v / p, v % p);
        if rem == 0 {
            return (int, String::new());
        }
        let digits = format!(".{rem:0width$}", width = prec as usize);
        (int, digits.trim_end_matches('0').to_owned())
    }
    let u = d.unsigned_abs();
    let body = if u < 1_000_000_000 {
        let (unit, prec) = match u {
            0 => return "0s".to_owned(),
            1..1_000 => ("ns", 0),
            1_000..1_000_000 => ("µs", 3),
            _ => ("ms", 6),
        };
        let (int, f) = frac(u, prec);
        format!("{int}{f}{unit}")
    } else {
        let (secs, f) = frac(u, 9);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            format!("{h}h{m}m{s}{f}s")
        } else if m > 0 {
            format!("{m}m{s}{f}s")
        } else {
            format!("{s}{f}s")
        }
    };
    if d < 0 { format!("-{body}") } else { body }
}

/// `RawExtension{1: raw}` and `FieldsV1{1: raw}`: the raw bytes are a JSON document
/// (`null` when absent or empty).
fn raw_json(
    msg: &'static Message,
    field: &'static Field,
    bytes: &[u8],
) -> Result<Value, ProtoError> {
    let mut raw: &[u8] = &[];
    let mut r = Reader::new(bytes);
    while let Some((num, wire)) = r.next_field()? {
        if num == 1 {
            raw = len(msg, field, wire)?;
        }
    }
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(raw).map_err(|e| invalid(msg, field, format!("raw JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::super::tables::ROOTS;
    use super::*;
    use proptest::prelude::*;

    fn any_field() -> (&'static Message, &'static Field) {
        let msg = ROOTS[0].2;
        (msg, &msg.fields[0])
    }

    #[test]
    fn calendar_edges() {
        let (msg, field) = any_field();
        let cases = [
            (MIN_SECONDS, "0000-01-01T00:00:00"),
            (-62_135_596_800, "0001-01-01T00:00:00"),
            (-2_208_988_800, "1900-01-01T00:00:00"),
            (-1, "1969-12-31T23:59:59"),
            (0, "1970-01-01T00:00:00"),
            (951_782_400, "2000-02-29T00:00:00"),
            (1_709_164_800, "2024-02-29T00:00:00"),
            (1_795_518_134, "2026-11-24T11:02:14"),
            (MAX_SECONDS, "9999-12-31T23:59:59"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                format_seconds(msg, field, secs).ok().as_deref(),
                Some(want),
                "{secs}"
            );
        }
        assert!(format_seconds(msg, field, MIN_SECONDS - 1).is_err());
        assert!(format_seconds(msg, field, MAX_SECONDS + 1).is_err());
    }

    proptest! {
        /// The calendar arithmetic agrees with jiff wherever jiff's timestamps reach.
        #[test]
        fn calendar_matches_jiff(secs in -62_135_596_800_i64..253_402_200_000) {
            let (msg, field) = any_field();
            let ts = jiff::Timestamp::from_second(secs).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(format_seconds(msg, field, secs).ok(), Some(ts.to_string().trim_end_matches('Z').to_owned()));
        }
    }

    #[test]
    fn durations_match_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_000, "1µs"),
            (1_500, "1.5µs"),
            (1_000_000, "1ms"),
            (1_234_567, "1.234567ms"),
            (1_000_000_000, "1s"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m0s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_000_000_001, "1h2m3.000000001s"),
            (-90_000_000_000, "-1m30s"),
            (-1, "-1ns"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want, "{d}");
        }
    }
}
