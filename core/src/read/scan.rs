//! [`Scan`]: a forward scan as a Rust iterator.

use crate::error::Result;
use crate::iterator::DbIterator;

/// A forward scan as a Rust iterator of `Result<(key, value)>`, from
/// [`Db::scan`](crate::Db::scan), [`Db::scan_prefix`](crate::Db::scan_prefix) or the same
/// methods of a [`Snapshot`](crate::Snapshot). It stops after the first `Err`.
pub struct Scan {
    it: DbIterator,
    started: bool,
}

impl Scan {
    pub(crate) fn new(it: DbIterator) -> Scan {
        Scan { it, started: false }
    }
}

impl Iterator for Scan {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            self.it.seek_to_first();
        } else if self.it.valid() {
            self.it.next();
        } else {
            return None;
        }
        if self.it.valid() {
            return Some(Ok((self.it.key().to_vec(), self.it.value().to_vec())));
        }
        match self.it.status() {
            Ok(()) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
