//! Helpers shared by the workload rules: upstream's small string checks that `names` does not
//! carry, Go `%#v` renderings used in error values, IP parsing as `netutils.ParseIPSloppy`,
//! a quantity parser (enough for QoS and request/limit comparisons), image-tag parsing and a
//! "semantic" JSON comparison.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::field::{BadValue, ErrorList, FieldError, Path};
use crate::names;

/// `validation.RegexError` (the copy in `names` is private).
pub(crate) fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push('\'');
        s.push_str(e);
        s.push_str("', ");
    }
    s.push_str("regex used for validation is '");
    s.push_str(fmt);
    s.push_str("')");
    s
}

/// `validation.InclusiveRangeError`.
pub(crate) fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

/// `IsNegativeErrorMsg`.
pub(crate) const IS_NEGATIVE: &str = "must be greater than or equal to 0";
/// `FieldImmutableErrorMsg`.
pub(crate) const IMMUTABLE: &str = "field is immutable";

/// Pushes one `Invalid` error per message.
pub(crate) fn push_invalid(
    errs: &mut ErrorList,
    path: &Path,
    value: impl Into<BadValue>,
    msgs: Vec<String>,
) {
    let value = value.into();
    for m in msgs {
        errs.push(FieldError::invalid(path, value.clone(), m));
    }
}

/// `ValidateNonnegativeField`.
pub(crate) fn nonnegative(errs: &mut ErrorList, v: i64, path: &Path) {
    if v < 0 {
        errs.push(FieldError::invalid(path, v, IS_NEGATIVE));
    }
}

/// `ValidateDNS1123Label` as an error list.
pub(crate) fn dns_label(errs: &mut ErrorList, v: &str, path: &Path) {
    push_invalid(errs, path, v, names::dns1123_label(v));
}

/// `ValidateDNS1123Subdomain` as an error list.
pub(crate) fn dns_subdomain(errs: &mut ErrorList, v: &str, path: &Path) {
    push_invalid(errs, path, v, names::dns1123_subdomain(v));
}

/// `ValidateQualifiedName` as an error list.
pub(crate) fn qualified_name(errs: &mut ErrorList, v: &str, path: &Path) {
    push_invalid(errs, path, v, names::qualified_name(v));
}

/// `metav1validation.ValidateLabels`: key errors and value errors, both at `path`.
pub(crate) fn validate_labels(
    errs: &mut ErrorList,
    labels: Option<&BTreeMap<String, String>>,
    path: &Path,
) {
    for (k, v) in labels.into_iter().flatten() {
        push_invalid(errs, path, k, names::qualified_name(k));
        push_invalid(errs, path, v, names::label_value(v));
    }
}

/// `ValidateAnnotations`: keys are qualified names (case-insensitive), total size ≤ 256 KiB.
pub(crate) fn validate_annotations(
    errs: &mut ErrorList,
    annotations: Option<&BTreeMap<String, String>>,
    path: &Path,
) {
    let mut total = 0usize;
    for (k, v) in annotations.into_iter().flatten() {
        push_invalid(errs, path, k, names::qualified_name(&k.to_lowercase()));
        total += k.len() + v.len();
    }
    if total > 256 * 1024 {
        errs.push(FieldError::too_long(path, 256 * 1024));
    }
}

/// `ValidateLabelSelector` (strict label values).
pub(crate) fn validate_label_selector(errs: &mut ErrorList, ls: &LabelSelector, path: &Path) {
    validate_labels(errs, ls.match_labels.as_ref(), &path.child("matchLabels"));
    for (i, e) in ls.match_expressions.iter().flatten().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        &p.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        &p.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(
                &p.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        push_invalid(errs, &p.child("key"), &e.key, names::qualified_name(&e.key));
        for (vi, v) in values.iter().enumerate() {
            push_invalid(errs, &p.child("values").index(vi), v, names::label_value(v));
        }
    }
}

/// `IsConfigMapKey`.
pub(crate) fn config_map_key(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > 253 {
        errs.push(names::max_len_error(253));
    }
    if v.is_empty()
        || !v
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_')
    {
        errs.push(regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+",
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    errs.extend(ch_dir_prefix(v));
    errs
}

fn ch_dir_prefix(v: &str) -> Vec<String> {
    if v == "." {
        vec!["must not be '.'".to_owned()]
    } else if v == ".." {
        vec!["must not be '..'".to_owned()]
    } else if v.starts_with("..") {
        vec!["must not start with '..'".to_owned()]
    } else {
        Vec::new()
    }
}

/// `IsRelaxedEnvVarName` (RelaxedEnvironmentVariableValidation is on in 1.33).
pub(crate) fn relaxed_env_var_name(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.is_empty() {
        errs.push("environment variable name must be non-empty".to_owned());
    }
    if v.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        errs.push(
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
                .to_owned(),
        );
    }
    errs
}

/// `IsValidPercent`.
pub(crate) fn valid_percent(v: &str) -> Vec<String> {
    let ok = v
        .strip_suffix('%')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()));
    if ok {
        Vec::new()
    } else {
        vec![regex_error(
            "a valid percent string must be a numeric string followed by an ending '%'",
            "[0-9]+%",
            &["1%", "93%"],
        )]
    }
}

/// `IsHTTPHeaderName`.
pub(crate) fn http_header_name(v: &str) -> Vec<String> {
    if !v.is_empty() && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
        Vec::new()
    } else {
        vec![regex_error(
            "a valid HTTP header must consist of alphanumeric characters or '-'",
            "[-A-Za-z0-9]+",
            &["X-Header-Name"],
        )]
    }
}

/// `IsValidUserID` / `IsValidGroupID`.
pub(crate) fn valid_id(v: i64) -> Vec<String> {
    if (0..=i64::from(i32::MAX)).contains(&v) {
        Vec::new()
    } else {
        vec![inclusive_range_error(0, i64::from(i32::MAX))]
    }
}

// ----------------------------------------------------------------------------------------------
// Go `%#v` renderings

/// Go `%#v` of a `map[string]string`.
pub(crate) fn go_string_map(m: Option<&BTreeMap<String, String>>) -> String {
    match m {
        None => "map[string]string(nil)".to_owned(),
        Some(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", BadValue::quote(k), BadValue::quote(v)))
                .collect();
            format!("map[string]string{{{}}}", parts.join(", "))
        }
    }
}

/// Go `%#v` of a `[]string`.
pub(crate) fn go_string_slice(v: Option<&Vec<String>>) -> String {
    match v {
        None => "[]string(nil)".to_owned(),
        Some(v) => {
            let parts: Vec<String> = v.iter().map(|s| BadValue::quote(s)).collect();
            format!("[]string{{{}}}", parts.join(", "))
        }
    }
}

/// Go `%#v` of a `metav1.LabelSelector` value.
pub(crate) fn go_label_selector(ls: &LabelSelector) -> String {
    let exprs = match &ls.match_expressions {
        None => "[]v1.LabelSelectorRequirement(nil)".to_owned(),
        Some(es) => {
            let parts: Vec<String> = es
                .iter()
                .map(|e| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        BadValue::quote(&e.key),
                        BadValue::quote(&e.operator),
                        go_string_slice(e.values.as_ref())
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", parts.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        go_string_map(ls.match_labels.as_ref()),
        exprs
    )
}

/// Go `%#v` of an `intstr.IntOrString` value.
pub(crate) fn go_int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => format!("intstr.IntOrString{{Type:0, IntVal:{i}, StrVal:\"\"}}"),
        IntOrString::String(s) => format!(
            "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
            BadValue::quote(s)
        ),
    }
}

// ----------------------------------------------------------------------------------------------
// IP addresses

/// `netutils.ParseIPSloppy`: like `net.ParseIP` but IPv4 octets may have leading zeros (read
/// as decimal). IPv4-mapped IPv6 addresses come back as IPv4, as Go's `To4` sees them.
pub(crate) fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        let v6 = match s.parse::<Ipv6Addr>() {
            Ok(v6) => v6,
            Err(_) => {
                // An embedded dotted quad with leading zeros.
                let (head, tail) = s.rsplit_once(':')?;
                let v4 = parse_v4_sloppy(tail)?;
                format!("{head}:{v4}").parse::<Ipv6Addr>().ok()?
            }
        };
        return Some(match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        });
    }
    parse_v4_sloppy(s).map(IpAddr::V4)
}

fn parse_v4_sloppy(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *o = p.parse::<u8>().ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

/// Message of `IsValidIPForLegacyField` (non-strict: StrictIPCIDRValidation is off in 1.33).
pub(crate) const INVALID_IP: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

/// `IsValidIPForLegacyField` with strict validation off.
pub(crate) fn legacy_ip(errs: &mut ErrorList, path: &Path, v: &str, valid_old: &[String]) {
    if valid_old.iter().any(|o| o == v) {
        return;
    }
    if parse_ip_sloppy(v).is_none() {
        errs.push(FieldError::invalid(path, v, INVALID_IP));
    }
}

/// `ValidateEndpointIP` / `ValidateNonSpecialIP`.
pub(crate) fn non_special_ip(errs: &mut ErrorList, v: &str, path: &Path) {
    let Some(ip) = parse_ip_sloppy(v) else {
        errs.push(FieldError::invalid(path, v, "must be a valid IP address"));
        return;
    };
    let (unspecified, loopback, ll_unicast, ll_multicast) = match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            (
                a.is_unspecified(),
                a.is_loopback(),
                o[0] == 169 && o[1] == 254,
                o[0] == 224 && o[1] == 0 && o[2] == 0,
            )
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            (
                a.is_unspecified(),
                a.is_loopback(),
                s[0] & 0xffc0 == 0xfe80,
                s[0] & 0xff0f == 0xff02,
            )
        }
    };
    if unspecified {
        errs.push(FieldError::invalid(
            path,
            v,
            format!("may not be unspecified ({v})"),
        ));
    }
    if loopback {
        errs.push(FieldError::invalid(
            path,
            v,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    if ll_unicast {
        errs.push(FieldError::invalid(
            path,
            v,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    if ll_multicast {
        errs.push(FieldError::invalid(
            path,
            v,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
}

/// `IsFullyQualifiedDomainName`.
pub(crate) fn fqdn(errs: &mut ErrorList, path: &Path, name: &str) {
    if name.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let e = names::dns1123_subdomain(name);
    if !e.is_empty() {
        errs.push(FieldError::invalid(path, name, e.join(",")));
        return;
    }
    if name.split('.').count() < 2 {
        errs.push(FieldError::invalid(
            path,
            name,
            "should be a domain with at least two segments separated by dots",
        ));
        return;
    }
    for label in name.split('.') {
        let e = names::dns1123_label(label);
        if !e.is_empty() {
            errs.push(FieldError::invalid(path, label, e.join(",")));
            return;
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Quantities

/// How a quantity was written (upstream `resource.Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QtyFormat {
    /// No suffix or a decimal SI suffix (`m`, `k`, `M`, ...).
    DecimalSi,
    /// A binary suffix (`Ki`, `Mi`, ...).
    BinarySi,
    /// An `e`/`E` exponent.
    DecimalExponent,
}

/// A parsed `resource.Quantity`: the value in nano-units (10⁻⁹), rounded up, and its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Qty {
    /// Value × 10⁹.
    pub(crate) nano: i128,
    /// The written format.
    pub(crate) format: QtyFormat,
}

const NANO: i128 = 1_000_000_000;

impl Qty {
    /// Parses upstream's quantity grammar (`<signedNumber><suffix>`); `None` if malformed.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (neg, rest) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(num_end);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        // value = digits * 10^(exp10) * 2^(exp2), digits an integer.
        let mut mant: i128 = 0;
        for c in int_part.bytes().chain(frac_part.bytes()) {
            mant = mant.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
        }
        let mut exp10: i32 = -(i32::try_from(frac_part.len()).ok()?);
        let mut exp2: u32 = 0;
        let mut format = QtyFormat::DecimalSi;
        match suffix {
            "" => {}
            "n" => exp10 -= 9,
            "u" => exp10 -= 6,
            "m" => exp10 -= 3,
            "k" => exp10 += 3,
            "M" => exp10 += 6,
            "G" => exp10 += 9,
            "T" => exp10 += 12,
            "P" => exp10 += 15,
            "E" => exp10 += 18,
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                format = QtyFormat::BinarySi;
                exp2 = match suffix {
                    "Ki" => 10,
                    "Mi" => 20,
                    "Gi" => 30,
                    "Ti" => 40,
                    "Pi" => 50,
                    _ => 60,
                };
            }
            other => {
                let e = other.strip_prefix(['e', 'E'])?;
                exp10 += e.parse::<i32>().ok()?;
                format = QtyFormat::DecimalExponent;
            }
        }
        // Into nano-units.
        exp10 += 9;
        let mut v = mant.checked_mul(1i128.checked_shl(exp2)?)?;
        if exp10 >= 0 {
            v = v.checked_mul(10i128.checked_pow(u32::try_from(exp10).ok()?)?)?;
        } else {
            let div = 10i128.checked_pow(u32::try_from(-exp10).ok()?)?;
            let q = v / div;
            v = if v % div == 0 { q } else { q + 1 };
        }
        Some(Self {
            nano: if neg { -v } else { v },
            format,
        })
    }

    /// Rounds up to milli precision (`SetDefaults_ResourceList`).
    pub(crate) fn round_up_milli(self) -> Self {
        let unit = 1_000_000;
        let r = self.nano.rem_euclid(unit);
        let nano = if r == 0 {
            self.nano
        } else {
            self.nano - r + unit
        };
        Self { nano, ..self }
    }

    /// `Quantity.String()`: the canonical form (`0.5` → `500m`, `2048Mi` → `2Gi`).
    pub(crate) fn canonical(self) -> String {
        if self.nano == 0 {
            return "0".to_owned();
        }
        let mut format = self.format;
        if format == QtyFormat::BinarySi && (self.nano.abs() < 1024 * NANO || self.nano % NANO != 0)
        {
            format = QtyFormat::DecimalSi;
        }
        if format == QtyFormat::BinarySi {
            let mut n = self.nano / NANO;
            let mut exp = 0usize;
            while n % 1024 == 0 && exp < 6 {
                n /= 1024;
                exp += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
            return format!("{n}{suffix}");
        }
        let mut m = self.nano;
        let mut exp: i32 = -9;
        while m % 10 == 0 {
            m /= 10;
            exp += 1;
        }
        let extra = exp.rem_euclid(3);
        for _ in 0..extra {
            m *= 10;
        }
        exp -= extra;
        let suffix = match (format, exp) {
            (_, 0) => String::new(),
            (QtyFormat::DecimalSi, -9) => "n".to_owned(),
            (QtyFormat::DecimalSi, -6) => "u".to_owned(),
            (QtyFormat::DecimalSi, -3) => "m".to_owned(),
            (QtyFormat::DecimalSi, 3) => "k".to_owned(),
            (QtyFormat::DecimalSi, 6) => "M".to_owned(),
            (QtyFormat::DecimalSi, 9) => "G".to_owned(),
            (QtyFormat::DecimalSi, 12) => "T".to_owned(),
            (QtyFormat::DecimalSi, 15) => "P".to_owned(),
            (QtyFormat::DecimalSi, 18) => "E".to_owned(),
            (_, e) => format!("e{e}"),
        };
        format!("{m}{suffix}")
    }
}

// ----------------------------------------------------------------------------------------------
// Images

/// The tag `parsers.ParseImageName` finds: the explicit tag, `latest` when the reference has
/// neither tag nor digest, and `None` when the reference does not parse (or has only a digest).
pub(crate) fn image_tag(image: &str) -> Option<String> {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let (algo, hex) = d.split_once(':')?;
        let algo_ok = !algo.is_empty()
            && algo.as_bytes()[0].is_ascii_alphabetic()
            && algo
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'+' | b'.'));
        if !algo_ok || hex.len() < 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
    }
    let last_slash = rest.rfind('/');
    let (name, tag) = match rest.rfind(':') {
        Some(i) if last_slash.is_none_or(|s| i > s) => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if !valid_repository(name) {
        return None;
    }
    if let Some(t) = tag {
        let b = t.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 128
            && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
        if !ok {
            return None;
        }
        return Some(t.to_owned());
    }
    if digest.is_some() {
        None
    } else {
        Some("latest".to_owned())
    }
}

fn valid_repository(name: &str) -> bool {
    if name.is_empty() || name.len() > 255 {
        return false;
    }
    if name.len() == 64 && name.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return false;
    }
    let mut comps: Vec<&str> = name.split('/').collect();
    let first = comps[0];
    let is_domain = comps.len() > 1
        && (first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first);
    if is_domain {
        let host = match first.rsplit_once(':') {
            Some((h, port)) => {
                if port.is_empty() || !port.bytes().all(|c| c.is_ascii_digit()) {
                    return false;
                }
                h
            }
            None => first,
        };
        let host_ok = (host.starts_with('[') && host.ends_with(']'))
            || host.split('.').all(|l| {
                let b = l.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            });
        if !host_ok {
            return false;
        }
        comps.remove(0);
    }
    comps.iter().all(|c| valid_path_component(c))
}

fn valid_path_component(c: &str) -> bool {
    // alnum+ ( (`.` | `_` | `__` | `-`+) alnum+ )*
    let b = c.as_bytes();
    if b.is_empty() {
        return false;
    }
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

// ----------------------------------------------------------------------------------------------
// Semantic comparison

/// Drops nulls, empty arrays and empty objects recursively: `apiequality.Semantic.DeepEqual`
/// treats nil and empty slices/maps alike, and absent optional fields are nil.
pub(crate) fn semantic(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                let x = semantic(x);
                let empty = match &x {
                    Value::Null => true,
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                };
                if !empty {
                    out.insert(k.clone(), x);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(semantic).collect()),
        other => other.clone(),
    }
}

/// Whether two serialisable values are semantically equal.
pub(crate) fn sem_eq<T: serde::Serialize>(a: &T, b: &T) -> bool {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(a), Ok(b)) => semantic(&a) == semantic(&b),
        _ => false,
    }
}

/// A line-per-field diff of two values (stand-in for upstream's `cmp.Diff`, whose output is
/// deliberately unstable).
pub(crate) fn simple_diff(type_name: &str, old: &Value, new: &Value) -> String {
    let mut lines = Vec::new();
    diff_into(&mut lines, "", &semantic(old), &semantic(new));
    let mut s = format!("  {type_name}{{\n");
    for l in lines {
        s.push_str(&l);
        s.push('\n');
    }
    s.push_str("  }\n");
    s
}

fn diff_into(out: &mut Vec<String>, path: &str, old: &Value, new: &Value) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_into(
                    out,
                    &p,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_into(out, &format!("{path}[{i}]"), x, y);
            }
        }
        _ => {
            if !old.is_null() {
                out.push(format!("- \t{path}: {old}"));
            }
            if !new.is_null() {
                out.push(format!("+ \t{path}: {new}"));
            }
        }
    }
}
