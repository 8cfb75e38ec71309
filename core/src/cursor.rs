//! [`Cursor`]: one type for the database's cursor and a transaction's.
//!
//! [`DbIterator`] (from [`Db::iter`](crate::Db::iter) and
//! [`Snapshot::iter`](crate::Snapshot::iter)) and [`TxnIterator`] (from
//! [`Transaction::iter`](crate::Transaction::iter)) have the same cursor methods. A binding
//! that hands one handle type to its callers for both (the C ABI's `kevo_iter`, Python's
//! `Cursor` and range iterators) holds a `Cursor` instead of writing the dispatch itself.

use crate::error::Result;
use crate::iterator::DbIterator;
use crate::txn::TxnIterator;

/// A cursor over the database (or a snapshot) or over what a transaction sees; every method
/// forwards to the cursor inside and means what it means there.
///
/// Made with `From`: `Cursor::from(db.iter(read)?)` or `Cursor::from(txn.iter(read)?)`.
/// Created unpositioned: call a seek method first. The positioning methods do not return
/// errors; after [`valid`](Self::valid) turns false, [`status`](Self::status) tells the end
/// of the range from a failure.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let db = kevo::Db::open(dir.path(), kevo::Options::default()).unwrap();
/// db.put(b"a", b"1").unwrap();
/// let txn = db.transaction().unwrap();
/// txn.put(b"b", b"2").unwrap();
/// for mut cursor in [
///     kevo::Cursor::from(db.iter(kevo::ReadOptions::default()).unwrap()),
///     kevo::Cursor::from(txn.iter(kevo::ReadOptions::default()).unwrap()),
/// ] {
///     cursor.seek_to_first();
///     assert_eq!((cursor.key(), cursor.value()), (&b"a"[..], &b"1"[..]));
/// }
/// ```
pub struct Cursor {
    inner: Inner,
}

enum Inner {
    Db(DbIterator),
    Txn(TxnIterator),
}

impl From<DbIterator> for Cursor {
    fn from(it: DbIterator) -> Cursor {
        Cursor {
            inner: Inner::Db(it),
        }
    }
}

impl From<TxnIterator> for Cursor {
    fn from(it: TxnIterator) -> Cursor {
        Cursor {
            inner: Inner::Txn(it),
        }
    }
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let over = match self.inner {
            Inner::Db(_) => "database",
            Inner::Txn(_) => "transaction",
        };
        f.debug_struct("Cursor")
            .field("over", &over)
            .field("valid", &self.valid())
            .finish()
    }
}

macro_rules! forward {
    ($self:expr, $it:ident => $e:expr) => {
        match $self {
            Inner::Db($it) => $e,
            Inner::Txn($it) => $e,
        }
    };
}

impl Cursor {
    /// True if the cursor is on an entry.
    pub fn valid(&self) -> bool {
        forward!(&self.inner, it => it.valid())
    }

    /// The current key. Requires [`valid`](Self::valid) (panics otherwise, as the cursors
    /// inside do).
    pub fn key(&self) -> &[u8] {
        forward!(&self.inner, it => it.key())
    }

    /// The current value. Requires [`valid`](Self::valid) (panics otherwise).
    pub fn value(&self) -> &[u8] {
        forward!(&self.inner, it => it.value())
    }

    /// `Ok` unless an error stopped the iteration.
    ///
    /// Errors: as [`DbIterator::status`] ([`Error::Io`](crate::Error::Io),
    /// [`Error::Corruption`](crate::Error::Corruption), [`Error::Closed`](crate::Error::Closed));
    /// for a transaction's cursor also as [`TxnIterator::status`]
    /// ([`Error::InvalidArgument`](crate::Error::InvalidArgument) once the transaction is
    /// finished).
    pub fn status(&self) -> Result<()> {
        forward!(&self.inner, it => it.status())
    }

    /// Moves to the first key at or above the lower bound.
    pub fn seek_to_first(&mut self) {
        forward!(&mut self.inner, it => it.seek_to_first())
    }

    /// Moves to the last key below the upper bound.
    pub fn seek_to_last(&mut self) {
        forward!(&mut self.inner, it => it.seek_to_last())
    }

    /// Moves to the first key `>= key`, clamped to the bounds.
    pub fn seek(&mut self, key: &[u8]) {
        forward!(&mut self.inner, it => it.seek(key))
    }

    /// Moves to the last key `<= key`, clamped to the bounds.
    pub fn seek_for_prev(&mut self, key: &[u8]) {
        forward!(&mut self.inner, it => it.seek_for_prev(key))
    }

    /// Moves to the next key. Requires [`valid`](Self::valid) (on an invalid cursor it does
    /// what the cursor inside does: nothing).
    pub fn next(&mut self) {
        forward!(&mut self.inner, it => it.next())
    }

    /// Moves to the previous key. Requires [`valid`](Self::valid), as [`next`](Self::next).
    pub fn prev(&mut self) {
        forward!(&mut self.inner, it => it.prev())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Db, Options, ReadOptions};

    /// Every key of `c` from the last, backwards.
    fn backwards(c: &mut Cursor) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        c.seek_to_last();
        while c.valid() {
            out.push(c.key().to_vec());
            c.prev();
        }
        c.status().unwrap();
        out
    }

    #[test]
    fn both_kinds_move_alike() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        for k in [&b"a"[..], b"c", b"e"] {
            db.put(k, b"db").unwrap();
        }
        let txn = db.transaction().unwrap();
        txn.put(b"d", b"txn").unwrap();
        txn.delete(b"a").unwrap();

        let mut over_db = Cursor::from(db.iter(ReadOptions::default()).unwrap());
        let mut over_txn = Cursor::from(txn.iter(ReadOptions::default()).unwrap());
        assert_eq!(backwards(&mut over_db), [b"e", b"c", b"a"]);
        assert_eq!(backwards(&mut over_txn), [b"e", b"d", b"c"]);

        over_txn.seek(b"d");
        assert_eq!((over_txn.key(), over_txn.value()), (&b"d"[..], &b"txn"[..]));
        over_txn.seek_for_prev(b"b");
        assert!(!over_txn.valid());
        over_db.seek_for_prev(b"b");
        assert_eq!(over_db.key(), b"a");
        over_db.next();
        assert_eq!(over_db.key(), b"c");
        assert!(format!("{over_db:?}").contains("database"));

        txn.rollback().unwrap();
        over_txn.seek_to_first();
        assert!(!over_txn.valid());
        assert!(matches!(
            over_txn.status(),
            Err(crate::Error::InvalidArgument(_))
        ));
    }
}
