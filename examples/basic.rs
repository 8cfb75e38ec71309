//! The README's usage example: open, write, read, scan, close.
//!
//! Run it with `cargo run --example basic`.

use kevo::{Db, Options, SyncMode, WriteBatch};

fn main() -> kevo::Result<()> {
    let dir = tempfile::tempdir().expect("temporary directory");

    // Creates the database if it does not exist.
    let db = Db::open(dir.path(), Options::default().sync_mode(SyncMode::Always))?;

    db.put(b"fruit/apple", b"red")?;
    db.put(b"fruit/banana", b"yellow")?;
    db.put(b"veg/carrot", b"orange")?;
    assert_eq!(db.get(b"fruit/apple")?, Some(b"red".to_vec()));

    // Several changes applied atomically.
    let mut batch = WriteBatch::new();
    batch.put(b"fruit/cherry", b"dark red")?;
    batch.delete(b"veg/carrot")?;
    db.write(&batch)?;
    assert_eq!(db.get(b"veg/carrot")?, None);

    // Keys come back in order.
    for entry in db.scan_prefix(b"fruit/")? {
        let (key, value) = entry?;
        println!(
            "{} = {}",
            String::from_utf8_lossy(&key),
            String::from_utf8_lossy(&value)
        );
    }
    let n = db.scan(b"a".as_slice()..b"g".as_slice())?.count();
    assert_eq!(n, 3);

    db.close()
}
