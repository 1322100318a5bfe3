//! Quiver's storage seam: where the file's bytes live. Our own trait, so that redb's
//! `StorageBackend` (whose shape changes between redb releases) never appears in Quiver's API;
//! [`Adapter`] carries any [`Backend`] to redb.

use std::fmt::Debug;
use std::io;
use std::sync::Mutex;

/// Bytes that a database is stored in: a file, memory, or a fault-injecting test double.
/// Offsets and lengths are in bytes; reads past the end are errors; growing fills with
/// zeros; `sync_data` returns once everything written is durable.
// `len` is the storage's size, as in redb's trait; an `is_empty` would mean nothing here.
#[allow(clippy::len_without_is_empty)]
pub trait Backend: Debug + Send + Sync + 'static {
    fn len(&self) -> io::Result<u64>;
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()>;
    fn set_len(&self, len: u64) -> io::Result<()>;
    fn sync_data(&self) -> io::Result<()>;
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()>;
}

/// A database held in memory (gone when dropped): tests, scratch work.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    bytes: Mutex<Vec<u8>>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn bytes(&self) -> io::Result<std::sync::MutexGuard<'_, Vec<u8>>> {
        self.bytes
            .lock()
            .map_err(|_| io::Error::other("a thread panicked while writing to memory"))
    }
}

impl Backend for MemoryBackend {
    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes()?.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let bytes = self.bytes()?;
        let start = usize::try_from(offset).map_err(|_| past_end())?;
        let end = start
            .checked_add(out.len())
            .filter(|&e| e <= bytes.len())
            .ok_or_else(past_end)?;
        out.copy_from_slice(&bytes[start..end]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| io::Error::other("too large for memory"))?;
        self.bytes()?.resize(len, 0);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut bytes = self.bytes()?;
        let start = usize::try_from(offset).map_err(|_| io::Error::other("too large"))?;
        let end = start
            .checked_add(data.len())
            .ok_or_else(|| io::Error::other("too large"))?;
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[start..end].copy_from_slice(data);
        Ok(())
    }
}

fn past_end() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end")
}

/// A [`Backend`] as redb sees it.
#[derive(Debug)]
pub(crate) struct Adapter<B>(pub B);

impl<B: Backend> redb::StorageBackend for Adapter<B> {
    fn len(&self) -> Result<u64, io::Error> {
        self.0.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.0.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.0.set_len(len)
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.0.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.0.write(offset, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_reads_what_was_written_and_refuses_past_the_end() {
        let m = MemoryBackend::new();
        m.write(4, b"abc").unwrap();
        assert_eq!(m.len().unwrap(), 7);
        let mut out = [9u8; 7];
        m.read(0, &mut out).unwrap();
        assert_eq!(&out, b"\0\0\0\0abc");
        assert!(m.read(5, &mut [0u8; 3]).is_err());
        m.set_len(2).unwrap();
        assert_eq!(m.len().unwrap(), 2);
    }
}
