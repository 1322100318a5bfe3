//! Payload-index entries: one key per (field, value, row), no value, in the collection's
//! `fields` table. Keys sort by field, then value in its natural order, then row, so equality
//! and range conditions are key-range scans. Byte layout (see docs/file-format.md):
//!
//! ```text
//! u16 BE field-path length | field path (UTF-8) | kind tag u8 | value | row u64 BE
//! ```
//! Values: bool = 1 byte (0/1); integer = i64 with the sign bit flipped, BE; float = f64 bits
//! mapped to an unsigned total order (sign bit flipped for positives, all bits for negatives;
//! -0.0 stored as 0.0), BE; keyword = the UTF-8 bytes with 0x00 escaped as 0x00 0xFF, then the
//! terminator 0x00 0x00 (so a value never prefixes another's key, and order is byte order).

// Keys are compared as bytes by redb: big-endian is what makes byte order numeric order.
#![allow(clippy::big_endian_bytes)]

use std::ops::Bound;

/// A scalar value as a payload index stores it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValue<'a> {
    Bool(bool),
    Integer(i64),
    Float(f64),
    Keyword(&'a str),
}

impl FieldValue<'_> {
    fn tag(&self) -> u8 {
        match self {
            FieldValue::Bool(_) => 1,
            FieldValue::Integer(_) => 2,
            FieldValue::Float(_) => 3,
            FieldValue::Keyword(_) => 4,
        }
    }
}

/// Bytes every entry of `field` with values of `value`'s kind starts with.
fn kind_prefix(field: &str, tag: u8) -> Vec<u8> {
    let mut key = Vec::with_capacity(field.len() + 16);
    // Field paths are bounded by the engine far below u16::MAX.
    key.extend_from_slice(&(field.len().min(u16::MAX as usize) as u16).to_be_bytes());
    key.extend_from_slice(field.as_bytes());
    key.push(tag);
    key
}

fn push_value(key: &mut Vec<u8>, value: FieldValue<'_>) {
    match value {
        FieldValue::Bool(b) => key.push(u8::from(b)),
        FieldValue::Integer(i) => key.extend_from_slice(&((i as u64) ^ (1 << 63)).to_be_bytes()),
        FieldValue::Float(f) => {
            let f = if f == 0.0 { 0.0 } else { f };
            let bits = f.to_bits();
            let ordered = if bits >> 63 == 0 {
                bits | (1 << 63)
            } else {
                !bits
            };
            key.extend_from_slice(&ordered.to_be_bytes());
        }
        FieldValue::Keyword(s) => {
            push_escaped(key, s.as_bytes());
            key.extend_from_slice(&[0, 0]);
        }
    }
}

fn push_escaped(key: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        key.push(b);
        if b == 0 {
            key.push(0xFF);
        }
    }
}

/// The key of one entry.
pub fn entry_key(field: &str, value: FieldValue<'_>, row: u64) -> Vec<u8> {
    let mut key = kind_prefix(field, value.tag());
    push_value(&mut key, value);
    key.extend_from_slice(&row.to_be_bytes());
    key
}

/// The row an entry key ends with.
pub fn entry_row(key: &[u8]) -> Option<u64> {
    let tail = key.len().checked_sub(8)?;
    Some(u64::from_be_bytes(key[tail..].try_into().ok()?))
}

/// Key bounds of the entries of `field` whose value lies between `lo` and `hi` (both of the
/// same kind; `Unbounded` means every value of `kind`'s kind on that side).
pub fn range(
    field: &str,
    kind: FieldValue<'_>,
    lo: Bound<FieldValue<'_>>,
    hi: Bound<FieldValue<'_>>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let prefix = kind_prefix(field, kind.tag());
    let with = |v: FieldValue<'_>, row_fill: u8| {
        let mut key = prefix.clone();
        push_value(&mut key, v);
        key.extend_from_slice(&[row_fill; 8]);
        key
    };
    let start = match lo {
        Bound::Included(v) => Bound::Included(with(v, 0)),
        Bound::Excluded(v) => Bound::Excluded(with(v, 0xFF)),
        Bound::Unbounded => Bound::Included(prefix.clone()),
    };
    let end = match hi {
        Bound::Included(v) => Bound::Included(with(v, 0xFF)),
        Bound::Excluded(v) => Bound::Excluded(with(v, 0)),
        Bound::Unbounded => successor(&prefix).map_or(Bound::Unbounded, Bound::Excluded),
    };
    (start, end)
}

/// Key bounds of the keyword entries of `field` whose value starts with `prefix`.
pub fn keyword_prefix_range(field: &str, prefix: &str) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut start = kind_prefix(field, FieldValue::Keyword("").tag());
    push_escaped(&mut start, prefix.as_bytes());
    let end = successor(&start).map_or(Bound::Unbounded, Bound::Excluded);
    (Bound::Included(start), end)
}

/// Key bounds of every entry of `field`, all kinds.
pub fn field_range(field: &str) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let start = kind_prefix(field, 0);
    let end = successor(&kind_prefix(field, 0xFF)).map_or(Bound::Unbounded, Bound::Excluded);
    (Bound::Included(start), end)
}

/// A key range as redb takes it.
pub(crate) fn borrow(range: &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> (Bound<&[u8]>, Bound<&[u8]>) {
    (
        range.0.as_ref().map(Vec::as_slice),
        range.1.as_ref().map(Vec::as_slice),
    )
}

/// The smallest byte string greater than every string starting with `prefix`.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn in_range(key: &[u8], (lo, hi): &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> bool {
        let above = match lo {
            Bound::Included(b) => key >= b.as_slice(),
            Bound::Excluded(b) => key > b.as_slice(),
            Bound::Unbounded => true,
        };
        let below = match hi {
            Bound::Included(b) => key <= b.as_slice(),
            Bound::Excluded(b) => key < b.as_slice(),
            Bound::Unbounded => true,
        };
        above && below
    }

    proptest! {
        #[test]
        fn integer_keys_sort_like_integers(a: i64, b: i64, ra: u64, rb: u64) {
            let (ka, kb) = (entry_key("f", FieldValue::Integer(a), ra), entry_key("f", FieldValue::Integer(b), rb));
            prop_assert_eq!(ka.cmp(&kb), (a, ra).cmp(&(b, rb)));
            prop_assert_eq!(entry_row(&ka), Some(ra));
        }

        #[test]
        fn float_keys_sort_like_floats(a in -1e300f64..1e300, b in -1e300f64..1e300, r: u64) {
            let (ka, kb) = (entry_key("f", FieldValue::Float(a), r), entry_key("f", FieldValue::Float(b), r));
            prop_assert_eq!(ka.cmp(&kb), a.partial_cmp(&b).unwrap());
        }

        #[test]
        fn keyword_keys_sort_like_strings(a in "[a\\x00b]{0,6}", b in "[a\\x00b]{0,6}", ra: u64, rb: u64) {
            let (ka, kb) = (entry_key("f", FieldValue::Keyword(&a), ra), entry_key("f", FieldValue::Keyword(&b), rb));
            prop_assert_eq!(ka.cmp(&kb), (a.as_bytes(), ra).cmp(&(b.as_bytes(), rb)));
        }

        #[test]
        fn ranges_select_exactly(v: i64, lo: i64, hi: i64, row: u64) {
            let key = entry_key("year", FieldValue::Integer(v), row);
            let k = FieldValue::Integer(0);
            let r = range("year", k, Bound::Included(FieldValue::Integer(lo)), Bound::Excluded(FieldValue::Integer(hi)));
            prop_assert_eq!(in_range(&key, &r), lo <= v && v < hi);
            let r = range("year", k, Bound::Excluded(FieldValue::Integer(lo)), Bound::Included(FieldValue::Integer(hi)));
            prop_assert_eq!(in_range(&key, &r), lo < v && v <= hi);
            let r = range("year", k, Bound::Included(FieldValue::Integer(v)), Bound::Included(FieldValue::Integer(v)));
            prop_assert!(in_range(&key, &r));
            prop_assert!(in_range(&key, &range("year", k, Bound::Unbounded, Bound::Unbounded)));
            prop_assert!(!in_range(&key, &range("yea", k, Bound::Unbounded, Bound::Unbounded)));
            prop_assert!(!in_range(&key, &range("year", FieldValue::Float(0.0), Bound::Unbounded, Bound::Unbounded)));
            prop_assert!(in_range(&key, &field_range("year")));
        }

        #[test]
        fn prefixes_select_exactly(v in "[ab\\x00]{0,5}", p in "[ab\\x00]{0,3}", row: u64) {
            let key = entry_key("tag", FieldValue::Keyword(&v), row);
            prop_assert_eq!(in_range(&key, &keyword_prefix_range("tag", &p)), v.starts_with(p.as_str()));
        }
    }
}
