//! The table cache: open SSTable readers, shared by every reader and compaction.
//!
//! Opening a table reads its footer, index block, filter and properties, so an open
//! [`Table`] is kept per file number and reused. Entries are removed when the file is
//! deleted. (A bound on open files, and a block cache in front of data blocks, belong with
//! the complete-LSM work; today every live table stays open.)

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::Result;
use crate::filename::table_path;
use crate::fs::FileSystem;
use crate::options::Options;
use crate::sstable::Table;
use crate::stats::Statistics;

/// Open tables by file number.
pub(crate) struct TableCache {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    tables: RwLock<HashMap<u64, Arc<Table>>>,
}

impl TableCache {
    pub(crate) fn new(
        fs: Arc<dyn FileSystem>,
        dir: PathBuf,
        _options: &Options,
        _stats: Arc<Statistics>,
    ) -> Self {
        TableCache {
            fs,
            dir,
            tables: RwLock::new(HashMap::new()),
        }
    }

    /// The reader of table `number`, opening it on first use.
    ///
    /// Errors: [`Error::NotFound`](crate::Error::NotFound) if the file is missing,
    /// [`Error::Corruption`](crate::Error::Corruption) if its footer or meta blocks are bad,
    /// [`Error::Io`](crate::Error::Io).
    pub(crate) fn get(&self, number: u64) -> Result<Arc<Table>> {
        if let Some(t) = self.tables.read().get(&number) {
            return Ok(t.clone());
        }
        let path = table_path(&self.dir, number);
        let file = self.fs.open(&path)?;
        let table = Arc::new(Table::open(file, &path.display().to_string())?);
        Ok(self.tables.write().entry(number).or_insert(table).clone())
    }

    /// Bytes the block cache holds and its capacity (no block cache yet: 0, 0).
    pub(crate) fn block_cache_usage(&self) -> (u64, u64) {
        (0, 0)
    }

    /// Forgets table `number` (its file is being deleted).
    pub(crate) fn evict(&self, number: u64) {
        self.tables.write().remove(&number);
    }
}
