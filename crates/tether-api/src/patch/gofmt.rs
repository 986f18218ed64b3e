//! Go semantics the strategic merge patch depends on: dynamic types and `==` of decoded JSON
//! values, `fmt` verbs `%v`/`%s` (error messages are built with them upstream, and kubectl
//! prints them as they are), and `sort.SliceStable` (the order of merged lists depends on its
//! exact algorithm when the less function is not a strict weak order, which upstream's is not).

use serde_json::{Map, Value};

/// The dynamic Go type of a value decoded by `kjson.UnmarshalCaseSensitivePreserveInts` (patch)
/// or `runtime.DefaultUnstructuredConverter.ToUnstructured` (live object).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GoType {
    /// `nil`.
    Nil,
    /// `bool`.
    Bool,
    /// `int64` (integers that fit).
    Int,
    /// `float64` (everything else numeric).
    Float,
    /// `string`.
    String,
    /// `[]interface {}`.
    Slice,
    /// `map[string]interface {}`.
    Map,
}

impl GoType {
    /// The dynamic type of `v`.
    pub(crate) fn of(v: &Value) -> Self {
        match v {
            Value::Null => Self::Nil,
            Value::Bool(_) => Self::Bool,
            Value::Number(n) if n.as_i64().is_some() => Self::Int,
            Value::Number(_) => Self::Float,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Slice,
            Value::Object(_) => Self::Map,
        }
    }

    /// `reflect.TypeOf(v).String()`, as `%s` prints it (`%!s(<nil>)` for a nil type).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Nil => "%!s(<nil>)",
            Self::Bool => "bool",
            Self::Int => "int64",
            Self::Float => "float64",
            Self::String => "string",
            Self::Slice => "[]interface {}",
            Self::Map => "map[string]interface {}",
        }
    }
}

/// Go's `==` on two `interface{}` values: equal dynamic types and equal values. Go panics when
/// both hold maps or slices; this compares them deeply instead.
pub(crate) fn go_eq(a: &Value, b: &Value) -> bool {
    let (ta, tb) = (GoType::of(a), GoType::of(b));
    if ta != tb {
        return false;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match ta {
            GoType::Int => x.as_i64() == y.as_i64(),
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// `fmt.Sprintf("%v", v)`.
pub(crate) fn v(v: &Value) -> String {
    let mut out = String::new();
    write_v(&mut out, v);
    out
}

/// `fmt.Sprintf("%v", m)` for a map.
pub(crate) fn v_map(m: &Map<String, Value>) -> String {
    let mut out = String::new();
    write_map(&mut out, m);
    out
}

/// `fmt.Sprintf("%v", l)` for a slice.
pub(crate) fn v_slice(l: &[Value]) -> String {
    let mut out = String::new();
    write_slice(&mut out, l);
    out
}

/// `fmt.Sprintf("%s", v)`: strings as they are, other scalars as `%!s(type=value)`.
pub(crate) fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "%!s(<nil>)".to_owned(),
        Value::Bool(_) | Value::Number(_) => {
            format!("%!s({}={})", GoType::of(v).name(), self::v(v))
        }
        Value::Array(_) | Value::Object(_) => self::v(v),
    }
}

fn write_v(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => out.push_str(&i.to_string()),
            None => out.push_str(&float(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => out.push_str(s),
        Value::Array(l) => write_slice(out, l),
        Value::Object(m) => write_map(out, m),
    }
}

fn write_slice(out: &mut String, l: &[Value]) {
    out.push('[');
    for (i, e) in l.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_v(out, e);
    }
    out.push(']');
}

fn write_map(out: &mut String, m: &Map<String, Value>) {
    // fmt prints maps with their keys sorted.
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    out.push_str("map[");
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(k);
        out.push(':');
        if let Some(e) = m.get(k) {
            write_v(out, e);
        }
    }
    out.push(']');
}

/// `%v` of a float64 (`%g` with the shortest precision): exponent form when the decimal
/// exponent is < -4 or >= 6, with Go's two-digit minimum exponent (`1e+06`).
fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return "0".to_owned();
    }
    let exp = f.abs().log10().floor();
    if (-4.0..6.0).contains(&exp) {
        return format!("{f}");
    }
    let e = format!("{f:e}");
    match e.split_once('e') {
        Some((mant, ex)) => {
            let (sign, digits) = match ex.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', ex),
            };
            let pad = if digits.len() < 2 { "0" } else { "" };
            format!("{mant}e{sign}{pad}{digits}")
        }
        None => e,
    }
}

/// `sort.SliceStable(items, less)` with Go's exact algorithm (insertion sort on blocks of 20,
/// then `symMerge`), so that a `less` that is not a strict weak order yields what upstream
/// yields.
pub(crate) fn slice_stable<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = items.len();
    let mut block = 20;
    let (mut a, mut b) = (0, block);
    while b <= n {
        insertion_sort(items, a, b, &less);
        a = b;
        b += block;
    }
    insertion_sort(items, a, n, &less);
    while block < n {
        a = 0;
        b = 2 * block;
        while b <= n {
            sym_merge(items, a, a + block, b, &less);
            a = b;
            b += 2 * block;
        }
        let m = a + block;
        if m < n {
            sym_merge(items, a, m, n, &less);
        }
        block *= 2;
    }
}

fn insertion_sort<T>(d: &mut [T], a: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&d[j], &d[j - 1]) {
            d.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn sym_merge<T>(d: &mut [T], a: usize, m: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    if m - a == 1 {
        let (mut i, mut j) = (m, b);
        while i < j {
            let h = (i + j) / 2;
            if less(&d[h], &d[a]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = a;
        while k + 1 < i {
            d.swap(k, k + 1);
            k += 1;
        }
        return;
    }
    if b - m == 1 {
        let (mut i, mut j) = (a, m);
        while i < j {
            let h = (i + j) / 2;
            if !less(&d[m], &d[h]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = m;
        while k > i {
            d.swap(k, k - 1);
            k -= 1;
        }
        return;
    }
    let mid = (a + b) / 2;
    let n = mid + m;
    let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
    let p = n - 1;
    while start < r {
        let c = (start + r) / 2;
        if !less(&d[p - c], &d[c]) {
            start = c + 1;
        } else {
            r = c;
        }
    }
    let end = n - start;
    if start < m && m < end {
        rotate(d, start, m, end);
    }
    if a < start && start < mid {
        sym_merge(d, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(d, mid, end, b, less);
    }
}

fn rotate<T>(d: &mut [T], a: usize, m: usize, b: usize) {
    let mut i = m - a;
    let mut j = b - m;
    while i != j {
        if i > j {
            swap_range(d, m - i, m, j);
            i -= j;
        } else {
            swap_range(d, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(d, m - i, m, i);
}

fn swap_range<T>(d: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        d.swap(a + i, b + i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_like_go() {
        assert_eq!(
            v(&json!({"b": [1, "x"], "a": null})),
            "map[a:<nil> b:[1 x]]"
        );
        assert_eq!(v(&json!(1.5)), "1.5");
        assert_eq!(v(&json!(1e21)), "1e+21");
        assert_eq!(v(&json!(1_000_000.0)), "1e+06");
        assert_eq!(v(&json!(123_456.0)), "123456");
        assert_eq!(s(&json!(true)), "%!s(bool=true)");
        assert_eq!(s(&json!("delete")), "delete");
    }

    #[test]
    fn go_equality_distinguishes_int_and_float() {
        assert!(go_eq(&json!(80), &json!(80)));
        assert!(!go_eq(&json!(80), &json!(80.0)));
        assert!(go_eq(&json!({"a": 1}), &json!({"a": 1})));
    }

    #[test]
    fn stable_sort_matches_a_real_order() {
        let mut v: Vec<u32> = (0..100).map(|i| (i * 37) % 11).collect();
        let mut w = v.clone();
        slice_stable(&mut v, |a, b| a < b);
        w.sort();
        assert_eq!(v, w);
    }

    #[test]
    fn stable_sort_with_always_true_less_reverses_small_slices() {
        // What Go's insertion sort does with upstream's "not found = less" comparator.
        let mut v = vec![1, 2, 3];
        slice_stable(&mut v, |_, _| true);
        assert_eq!(v, vec![3, 2, 1]);
    }
}
