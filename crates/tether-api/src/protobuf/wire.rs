//! The protobuf wire format: a reader of `(field number, value)` pairs.
//!
//! Every length is checked against the remaining input before it is used, so a hostile
//! length can neither panic nor make anything allocate.

use super::ProtoError;

/// The largest valid field number (2^29 - 1).
const MAX_FIELD: u64 = (1 << 29) - 1;

/// One encoded value.
#[derive(Debug, Clone, Copy)]
pub(super) enum Wire<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64,
    /// Wire type 2: strings, bytes, messages, packed repeated scalars.
    Len(&'a [u8]),
    /// Wire type 5.
    Fixed32,
}

impl Wire<'_> {
    /// The wire type number.
    pub(super) const fn wire_type(self) -> u8 {
        match self {
            Self::Varint(_) => 0,
            Self::Fixed64 => 1,
            Self::Len(_) => 2,
            Self::Fixed32 => 5,
        }
    }
}

/// Reads the fields of one message.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over an encoded message.
    pub(super) const fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Whether all input has been read.
    pub(super) const fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// A base-128 varint of at most 10 bytes; bits beyond 64 are dropped, as Go does.
    pub(super) fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut v: u64 = 0;
        for (i, &b) in self.buf.iter().take(10).enumerate() {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.buf = self.buf.get(i + 1..).unwrap_or_default();
                return Ok(v);
            }
        }
        if self.buf.len() < 10 {
            Err(ProtoError::Truncated)
        } else {
            Err(ProtoError::VarintOverflow)
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        let (head, rest) = self.buf.split_at_checked(n).ok_or(ProtoError::Truncated)?;
        self.buf = rest;
        Ok(head)
    }

    /// The next field, `None` at the end of the message.
    pub(super) fn next_field(&mut self) -> Result<Option<(u32, Wire<'a>)>, ProtoError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let num = key >> 3;
        if num == 0 || num > MAX_FIELD {
            return Err(ProtoError::InvalidFieldNumber(num));
        }
        let num = u32::try_from(num).map_err(|_| ProtoError::InvalidFieldNumber(num))?;
        let value = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Wire::Fixed64
            }
            2 => {
                let len = self.varint()?;
                // A length beyond the remaining input is truncation, however large.
                let len = usize::try_from(len).map_err(|_| ProtoError::Truncated)?;
                Wire::Len(self.take(len)?)
            }
            3 | 4 => return Err(ProtoError::Group),
            5 => {
                self.take(4)?;
                Wire::Fixed32
            }
            wt => return Err(ProtoError::InvalidWireType(wt as u8)),
        };
        Ok(Some((num, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        let mut r = Reader::new(&[0x00, 0x01, 0xac, 0x02, 0x7f]);
        assert_eq!(r.varint(), Ok(0));
        assert_eq!(r.varint(), Ok(1));
        assert_eq!(r.varint(), Ok(300));
        assert_eq!(r.varint(), Ok(127));
        assert!(r.is_empty());
        // -1 as int64: ten bytes.
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(r.varint(), Ok(u64::MAX));
        let mut r = Reader::new(&[0xff; 11]);
        assert_eq!(r.varint(), Err(ProtoError::VarintOverflow));
        let mut r = Reader::new(&[0xff, 0xff]);
        assert_eq!(r.varint(), Err(ProtoError::Truncated));
        let mut r = Reader::new(&[]);
        assert_eq!(r.varint(), Err(ProtoError::Truncated));
    }

    #[test]
    fn all_wire_types() {
        let buf = [
            0x08, 0x96, 0x01, // 1: varint 150
            0x11, 1, 2, 3, 4, 5, 6, 7, 8, // 2: fixed64
            0x1a, 0x03, b'a', b'b', b'c', // 3: "abc"
            0x25, 1, 2, 3, 4, // 4: fixed32
        ];
        let mut r = Reader::new(&buf);
        assert!(matches!(r.next_field(), Ok(Some((1, Wire::Varint(150))))));
        assert!(matches!(r.next_field(), Ok(Some((2, Wire::Fixed64)))));
        assert!(matches!(r.next_field(), Ok(Some((3, Wire::Len(b"abc"))))));
        assert!(matches!(r.next_field(), Ok(Some((4, Wire::Fixed32)))));
        assert!(matches!(r.next_field(), Ok(None)));
    }

    #[test]
    fn malformed() {
        let cases: &[(&[u8], ProtoError)] = &[
            (&[0x00, 0x00], ProtoError::InvalidFieldNumber(0)),
            (&[0x0b], ProtoError::Group),
            (&[0x0c], ProtoError::Group),
            (&[0x0e], ProtoError::InvalidWireType(6)),
            (&[0x0f], ProtoError::InvalidWireType(7)),
            (&[0x0a, 0x05, b'a'], ProtoError::Truncated),
            (&[0x09, 1, 2, 3], ProtoError::Truncated),
            (&[0x0d, 1], ProtoError::Truncated),
            (&[0x08], ProtoError::Truncated),
            (&[0x08, 0x80], ProtoError::Truncated),
            // A length of 2^63: no allocation, just an error.
            (
                &[
                    0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
                ],
                ProtoError::Truncated,
            ),
            // Field number 2^29.
            (
                &[0x80, 0x80, 0x80, 0x80, 0x10],
                ProtoError::InvalidFieldNumber(1 << 29),
            ),
        ];
        for (buf, want) in cases {
            let mut r = Reader::new(buf);
            assert_eq!(r.next_field().err().as_ref(), Some(want), "{buf:02x?}");
        }
    }
}
