//! Command-line flags read like Go's pflag, the parser under agnhost's cobra commands:
//! `--name=value`, `--name value`, bare `--bool` (never consumes the next word),
//! `--bool=false`; Go's flag-package form `-name=value` is accepted too. agnhost adds klog's
//! flags (`--v=2`, `--logtostderr`, …) to every command; we accept and ignore them.

use std::collections::HashMap;

use crate::{Error, Result};

/// Whether a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `--x` means true; a value only with `=`.
    Bool,
    /// Needs a value: `--x=v` or `--x v`.
    Value,
}

/// One flag a subcommand accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) help: &'static str,
}

/// Shorthand for a [`Spec`].
pub(crate) const fn flag(name: &'static str, kind: Kind, help: &'static str) -> Spec {
    Spec { name, kind, help }
}

/// klog's flags, which agnhost.go adds as persistent flags of every command.
const KLOG: &[Spec] = &[
    flag("v", Kind::Value, ""),
    flag("vmodule", Kind::Value, ""),
    flag("log_dir", Kind::Value, ""),
    flag("log_file", Kind::Value, ""),
    flag("log_file_max_size", Kind::Value, ""),
    flag("stderrthreshold", Kind::Value, ""),
    flag("log_backtrace_at", Kind::Value, ""),
    flag("logtostderr", Kind::Bool, ""),
    flag("alsologtostderr", Kind::Bool, ""),
    flag("add_dir_header", Kind::Bool, ""),
    flag("skip_headers", Kind::Bool, ""),
    flag("skip_log_headers", Kind::Bool, ""),
    flag("one_output", Kind::Bool, ""),
];

/// Parsed flags: the last value given for each name.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: HashMap<&'static str, String>,
}

/// Parses `args` against `specs`. Positional arguments are refused, as upstream's commands all
/// say `cobra.MaximumNArgs(0)`.
pub(crate) fn parse(cmd: &str, args: &[String], specs: &[Spec]) -> Result<Flags> {
    let mut flags = Flags::default();
    let mut positionals = 0usize;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            positionals += args.len() - i;
            break;
        }
        let body = if let Some(b) = arg.strip_prefix("--") {
            b
        } else if let Some(b) = arg.strip_prefix('-').filter(|b| !b.is_empty()) {
            b
        } else {
            positionals += 1;
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(spec) = specs.iter().chain(KLOG).find(|s| s.name == name) else {
            return Err(Error::Usage(format!("unknown flag: --{name}")));
        };
        let value = match (spec.kind, inline) {
            (_, Some(v)) => v.to_string(),
            (Kind::Bool, None) => "true".to_string(),
            (Kind::Value, None) => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.clone()
                }
                None => {
                    return Err(Error::Usage(format!("flag needs an argument: --{name}")));
                }
            },
        };
        if spec.kind == Kind::Bool && parse_bool(&value).is_none() {
            return Err(invalid(&value, name, "strconv.ParseBool", "invalid syntax"));
        }
        flags.values.insert(spec.name, value);
    }
    if positionals > 0 {
        return Err(Error::Usage(format!(
            "accepts at most 0 arg(s), received {positionals} (agnhost {cmd})"
        )));
    }
    Ok(flags)
}

fn invalid(value: &str, name: &str, func: &str, why: &str) -> Error {
    Error::Usage(format!(
        "invalid argument {value:?} for \"--{name}\" flag: {func}: parsing {value:?}: {why}"
    ))
}

/// Go's strconv.ParseBool.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's strconv.ParseInt(s, 0, 64) for the forms people write: decimal with sign, `0x…`.
fn parse_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -magnitude } else { magnitude })
}

impl Flags {
    /// An integer flag, or `default`.
    pub(crate) fn int(&self, name: &str, default: i64) -> Result<i64> {
        match self.values.get(name) {
            None => Ok(default),
            Some(v) => {
                parse_int(v).ok_or_else(|| invalid(v, name, "strconv.ParseInt", "invalid syntax"))
            }
        }
    }

    /// A boolean flag, or `default`.
    pub(crate) fn bool(&self, name: &str, default: bool) -> bool {
        self.values
            .get(name)
            .and_then(|v| parse_bool(v))
            .unwrap_or(default)
    }

    /// A string flag, or `default`.
    pub(crate) fn string(&self, name: &str, default: &str) -> String {
        self.values
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    /// An integer flag that must be a port (0..=65535).
    pub(crate) fn port(&self, name: &str, default: u16) -> Result<u16> {
        let v = self.int(name, i64::from(default))?;
        u16::try_from(v)
            .map_err(|_| Error::Usage(format!("invalid port {v} for \"--{name}\" flag")))
    }

    /// An integer port flag where -1 (upstream's "off") gives `None`.
    pub(crate) fn optional_port(&self, name: &str, default: i64) -> Result<Option<u16>> {
        match self.int(name, default)? {
            -1 => Ok(None),
            v => u16::try_from(v)
                .map(Some)
                .map_err(|_| Error::Usage(format!("invalid port {v} for \"--{name}\" flag"))),
        }
    }
}

/// Help text for a subcommand.
pub(crate) fn usage(cmd: &str, specs: &[Spec]) -> String {
    let mut s = format!("Usage:\n  agnhost {cmd} [flags]\n\nFlags:\n");
    for spec in specs {
        let arg = match spec.kind {
            Kind::Bool => "",
            Kind::Value => " value",
        };
        s.push_str(&format!("      --{}{arg}\t{}\n", spec.name, spec.help));
    }
    s.push_str("  -h, --help\thelp for ");
    s.push_str(cmd);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[Spec] = &[
        flag("http-port", Kind::Value, ""),
        flag("udp-port", Kind::Value, ""),
        flag("tcp", Kind::Bool, ""),
        flag("http", Kind::Bool, ""),
    ];

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn equals_space_and_single_dash_forms() {
        for form in [
            args(&["--http-port=8888"]),
            args(&["--http-port", "8888"]),
            args(&["-http-port=8888"]),
            args(&["-http-port", "8888"]),
        ] {
            let f = parse("netexec", &form, SPECS).expect("parse");
            assert_eq!(f.int("http-port", 8080).expect("int"), 8888, "{form:?}");
        }
    }

    #[test]
    fn defaults_and_last_value_wins() {
        let f = parse("x", &args(&["--udp-port=1", "--udp-port=-1"]), SPECS).expect("parse");
        assert_eq!(f.int("http-port", 8080).expect("int"), 8080);
        assert_eq!(f.optional_port("udp-port", 8081).expect("port"), None);
        let f = parse("x", &[], SPECS).expect("parse");
        assert_eq!(f.optional_port("udp-port", 8081).expect("port"), Some(8081));
    }

    #[test]
    fn bools_do_not_consume_next_word() {
        let f = parse("x", &args(&["--tcp", "--http=false"]), SPECS).expect("parse");
        assert!(f.bool("tcp", false));
        assert!(!f.bool("http", true));
        let f = parse("x", &args(&["--http=0"]), SPECS).expect("parse");
        assert!(!f.bool("http", true));
        assert!(parse("x", &args(&["--tcp", "false"]), SPECS).is_err());
        assert!(parse("x", &args(&["--tcp=maybe"]), SPECS).is_err());
    }

    #[test]
    fn errors() {
        assert!(parse("x", &args(&["--nope=1"]), SPECS).is_err());
        assert!(parse("x", &args(&["--http-port"]), SPECS).is_err());
        assert!(parse("x", &args(&["stray"]), SPECS).is_err());
        assert!(parse("x", &args(&["--", "stray"]), SPECS).is_err());
        let f = parse("x", &args(&["--http-port=abc"]), SPECS).expect("parse");
        assert!(f.int("http-port", 1).is_err());
        let f = parse("x", &args(&["--http-port=70000"]), SPECS).expect("parse");
        assert!(f.port("http-port", 1).is_err());
    }

    #[test]
    fn klog_flags_are_accepted() {
        let f = parse(
            "x",
            &args(&["--v=2", "-v", "4", "--logtostderr", "--http-port=1"]),
            SPECS,
        )
        .expect("parse");
        assert_eq!(f.int("http-port", 0).expect("int"), 1);
    }

    #[test]
    fn ints_like_go() {
        assert_eq!(parse_int("+5"), Some(5));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("1e3"), None);
    }
}
