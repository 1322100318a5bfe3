//! A collection's fixed shape, decoded from its catalog record.

use crate::codes;
use crate::error::Result;
use quiver_index::{ElementType, Metric};
use quiver_storage::CollectionRecord;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Schema {
    pub dim: usize,
    pub metric: Metric,
    pub element: ElementType,
}

impl Schema {
    pub fn of(record: &CollectionRecord) -> Result<Schema> {
        let dim = record.dim as usize;
        if dim == 0 || dim > crate::limits::MAX_DIM {
            return Err(crate::Error::corrupted(format!(
                "collection '{}' has dimension {dim}",
                record.name
            )));
        }
        let schema = Schema {
            dim,
            metric: codes::metric_from_code(record.metric)?,
            element: codes::element_from_code(record.element_type)?,
        };
        if record.vector_bytes as usize != dim * schema.element.size_bytes() {
            return Err(crate::Error::corrupted(format!(
                "collection '{}' stores {}-byte vectors, but {dim} x {} needs {}",
                record.name,
                record.vector_bytes,
                schema.element,
                dim * schema.element.size_bytes()
            )));
        }
        Ok(schema)
    }
}
