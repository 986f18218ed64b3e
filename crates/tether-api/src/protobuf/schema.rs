//! The shape of the schema table: messages, fields, field types.

/// How a field's values are found on the wire and turn into JSON.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ty {
    /// `string`: a JSON string (invalid UTF-8 is replaced, as Go's JSON encoder does).
    Str,
    /// `bool`.
    Bool,
    /// `int32`: a JSON number.
    I32,
    /// `int64`: a JSON number (not a string).
    I64,
    /// `bytes`: a base64 JSON string.
    Bytes,
    /// An object message.
    Msg(&'static Message),
    /// `intstr.IntOrString`: a JSON number or string.
    IntOrString,
    /// `resource.Quantity`: its string form.
    Quantity,
    /// `metav1.Time`: RFC 3339 with second precision, `null` when zero.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with six fractional digits, `null` when zero.
    MicroTime,
    /// `metav1.Duration`: a Go duration string such as `1m30s`.
    #[allow(dead_code, reason = "no served kind embeds metav1.Duration yet")]
    Duration,
    /// `runtime.RawExtension`: the embedded JSON document.
    RawExtension,
    /// `metav1.FieldsV1`: the embedded JSON document.
    FieldsV1,
}

impl Ty {
    /// Whether the field is a varint on the wire (so a repeated field may be packed).
    pub(super) const fn is_varint(self) -> bool {
        matches!(self, Self::Bool | Self::I32 | Self::I64)
    }
}

/// How a field's occurrences combine and whether it is emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Card {
    /// Singular, emitted whenever it is on the wire (Go pointer field, or a value field
    /// without `omitempty`). Scalars: the last occurrence wins; messages merge.
    Field,
    /// Singular Go value field with `omitempty`: Go's protobuf marshaller always writes it,
    /// the JSON path leaves it out when it holds the zero value (`""`, `0`, `false`, no bytes).
    OmitEmpty,
    /// Repeated: a JSON array, left out when there are no elements.
    Repeated,
    /// `map<string, ty>`: map entries `{1: key, 2: value}`, a JSON object.
    Map,
    /// An embedded message whose fields are merged into the parent object
    /// (Go `json:",inline"`).
    Inline,
}

/// One field of a message.
#[derive(Debug)]
pub(super) struct Field {
    /// The field number.
    pub(super) num: u32,
    /// The JSON name (empty for [`Card::Inline`]).
    pub(super) name: &'static str,
    /// The type (of the map value for [`Card::Map`]).
    pub(super) ty: Ty,
    /// Cardinality and emission rule.
    pub(super) card: Card,
}

/// A protobuf message and its known fields, sorted by field number.
#[derive(Debug)]
pub(super) struct Message {
    /// The upstream Go type name, for errors.
    pub(super) name: &'static str,
    /// The fields, sorted by number.
    pub(super) fields: &'static [Field],
}

impl Message {
    /// The index of the field with number `num`.
    pub(super) fn find(&self, num: u32) -> Option<usize> {
        self.fields.binary_search_by_key(&num, |f| f.num).ok()
    }
}

pub(super) const fn message(name: &'static str, fields: &'static [Field]) -> Message {
    Message { name, fields }
}

pub(super) const fn field(num: u32, name: &'static str, ty: Ty) -> Field {
    Field {
        num,
        name,
        ty,
        card: Card::Field,
    }
}

pub(super) const fn omitempty(num: u32, name: &'static str, ty: Ty) -> Field {
    Field {
        num,
        name,
        ty,
        card: Card::OmitEmpty,
    }
}

pub(super) const fn repeated(num: u32, name: &'static str, ty: Ty) -> Field {
    Field {
        num,
        name,
        ty,
        card: Card::Repeated,
    }
}

pub(super) const fn map(num: u32, name: &'static str, value: Ty) -> Field {
    Field {
        num,
        name,
        ty: value,
        card: Card::Map,
    }
}

pub(super) const fn inline(num: u32, msg: &'static Message) -> Field {
    Field {
        num,
        name: "",
        ty: Ty::Msg(msg),
        card: Card::Inline,
    }
}

/// The message of a top-level kind.
pub(super) fn root(api_version: &str, kind: &str) -> Option<&'static Message> {
    super::tables::ROOTS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .map(|(_, _, m)| *m)
}

#[cfg(test)]
mod tests {
    use super::super::tables::ROOTS;
    use super::*;

    fn check(msg: &'static Message, seen: &mut Vec<*const Message>) {
        let ptr: *const Message = msg;
        if seen.contains(&ptr) {
            return;
        }
        seen.push(ptr);
        assert!(
            msg.fields.windows(2).all(|w| w[0].num < w[1].num),
            "{}: fields not sorted by number",
            msg.name
        );
        let mut names = std::collections::HashSet::new();
        for f in msg.fields {
            assert!(f.num > 0, "{}", msg.name);
            if f.card == Card::Inline {
                assert!(
                    matches!(f.ty, Ty::Msg(_)),
                    "{}: inline non-message",
                    msg.name
                );
            } else {
                assert!(names.insert(f.name), "{}.{} twice", msg.name, f.name);
            }
            if f.card == Card::OmitEmpty {
                assert!(
                    matches!(f.ty, Ty::Str | Ty::Bool | Ty::I32 | Ty::I64 | Ty::Bytes),
                    "{}.{}: omitempty on a message",
                    msg.name,
                    f.name
                );
            }
            if let Ty::Msg(m) = f.ty {
                check(m, seen);
            }
        }
    }

    #[test]
    fn tables_are_sorted_and_unique() {
        let mut seen = Vec::new();
        for (_, _, m) in ROOTS {
            check(m, &mut seen);
        }
        assert!(seen.len() > 150, "{} messages", seen.len());
        for (i, (v, k, _)) in ROOTS.iter().enumerate() {
            assert!(
                ROOTS[..i].iter().all(|(v2, k2, _)| (v2, k2) != (v, k)),
                "{v} {k} twice"
            );
        }
    }
}
