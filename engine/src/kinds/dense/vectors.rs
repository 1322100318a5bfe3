//! Vectors between the caller's f32, the stored bytes and the in-memory arena.

use crate::error::{Error, Result};
use crate::schema::Schema;
use quiver_index::arena::MAX_ROW;
use quiver_index::{AnyArena, Element, ElementType, bf16, f16};
use quiver_storage::{CollectionRecord, ReadSnapshot, codec};

/// The stored bytes of a (validated) f32 vector, rounded to the collection's element type.
pub(crate) fn encode(element: ElementType, v: &[f32]) -> Vec<u8> {
    match element {
        ElementType::F32 => codec::encode_f32(v),
        ElementType::F16 => codec::encode_u16(
            &v.iter()
                .map(|&x| <f16 as Element>::from_f32(x).0)
                .collect::<Vec<_>>(),
        ),
        ElementType::Bf16 => codec::encode_u16(
            &v.iter()
                .map(|&x| <bf16 as Element>::from_f32(x).0)
                .collect::<Vec<_>>(),
        ),
    }
}

/// The stored vector, widened to f32.
pub(crate) fn decode(schema: &Schema, bytes: &[u8]) -> Result<Vec<f32>> {
    Ok(match schema.element {
        ElementType::F32 => codec::decode_f32(bytes, schema.dim)?,
        ElementType::F16 => codec::decode_u16(bytes, schema.dim)?
            .into_iter()
            .map(|b| Element::to_f32(f16(b)))
            .collect(),
        ElementType::Bf16 => codec::decode_u16(bytes, schema.dim)?
            .into_iter()
            .map(|b| Element::to_f32(bf16(b)))
            .collect(),
    })
}

/// Builds the in-memory arena of a collection from one snapshot's vector table.
pub(crate) fn load_arena(
    schema: &Schema,
    record: &CollectionRecord,
    read: &ReadSnapshot,
) -> Result<AnyArena> {
    let mut arena = AnyArena::new(schema.element, schema.dim, schema.metric);
    read.for_each_vector(record, |row, bytes| {
        if row >= record.next_row || row > MAX_ROW {
            return Err(quiver_storage::StorageError::Corrupted {
                detail: format!(
                    "row id {row} beyond the collection's counter {}",
                    record.next_row
                ),
            });
        }
        match &mut arena {
            AnyArena::F32(a) => a.set(row, &codec::decode_f32(bytes, schema.dim)?),
            AnyArena::F16(a) => {
                let v: Vec<f16> = codec::decode_u16(bytes, schema.dim)?
                    .into_iter()
                    .map(f16)
                    .collect();
                a.set(row, &v)
            }
            AnyArena::Bf16(a) => {
                let v: Vec<bf16> = codec::decode_u16(bytes, schema.dim)?
                    .into_iter()
                    .map(bf16)
                    .collect();
                a.set(row, &v)
            }
        }
        Ok(())
    })?;
    if arena.len() as u64 != record.count {
        return Err(Error::corrupted(format!(
            "collection '{}' holds {} vectors but its catalog counts {}",
            record.name,
            arena.len(),
            record.count
        )));
    }
    Ok(arena)
}
