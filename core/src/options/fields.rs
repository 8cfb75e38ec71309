//! The numeric fields of [`Options`] as a table: each one's name, the range it must lie in,
//! and how to read and write it.
//!
//! This is the one place a bound is written. [`Options::validate`] checks every entry, and
//! the bindings set numeric options through [`IntField::set`] (the C ABI's
//! `kevo_options_set_*`, Python's `kevo.open(**options)`), so each bound and the message that
//! states it exist once. `make header` also fills the ranges and defaults in `kevo.h`'s
//! comments from here.
//!
//! Rules that tie two fields together (`l0_compaction_trigger <= l0_slowdown_writes_trigger
//! <= l0_stop_writes_trigger`) are checked by [`Options::validate`] only, since a setter sees
//! one value at a time.

use std::fmt;

use super::{Options, MAX_MEMTABLE_SIZE};
use crate::error::{Error, Result};

/// What an option's numbers count, so that messages and documentation can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A plain number (entries, files, threads, bits, percent).
    Count,
    /// Bytes: written as `N GiB` or `N MiB` when exact, else `N bytes`.
    Bytes,
}

/// An inclusive range of accepted values: `min..=max` in [`Unit`]s. A `max` of `u64::MAX`
/// (or `usize::MAX` for a `usize` field) means no upper bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Smallest value accepted.
    pub min: u64,
    /// Largest value accepted.
    pub max: u64,
    /// What the numbers count.
    pub unit: Unit,
}

impl Bounds {
    /// True if `value` is in range.
    pub fn contains(&self, value: u64) -> bool {
        (self.min..=self.max).contains(&value)
    }

    /// `value` with its unit: `"16 MiB"`, `"4096 bytes"`, `"1 byte"`, `"10"`.
    pub fn format(&self, value: u64) -> String {
        match self.unit {
            Unit::Count => value.to_string(),
            Unit::Bytes if value >= 1 << 30 && value.is_multiple_of(1 << 30) => {
                format!("{} GiB", value >> 30)
            }
            Unit::Bytes if value >= 1 << 20 && value.is_multiple_of(1 << 20) => {
                format!("{} MiB", value >> 20)
            }
            Unit::Bytes if value == 1 => "1 byte".to_owned(),
            Unit::Bytes => format!("{value} bytes"),
        }
    }

    /// The range in words: `"between 4096 bytes and 16 GiB"`, `"at least 2"`,
    /// `"at most 64"`, or `"any value"`.
    pub fn describe(&self) -> String {
        let unbounded_above = self.max == u64::MAX || self.max == usize::MAX as u64;
        match (self.min, unbounded_above) {
            (0, true) => "any value".to_owned(),
            (min, true) => format!("at least {}", self.format(min)),
            (0, false) => format!("at most {}", self.format(self.max)),
            (min, false) => format!("between {} and {}", self.format(min), self.format(self.max)),
        }
    }

    /// Checks `value` for the option called `name`.
    ///
    /// Errors: [`Error::InvalidArgument`] out of range, worded `"{name} must be {range}
    /// (got {value})"`.
    pub fn check(&self, name: &str, value: u64) -> Result<()> {
        if self.contains(value) {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "{name} must be {} (got {value})",
            self.describe()
        )))
    }
}

/// One numeric field of [`Options`]: its name (the field's, which is also the option's name
/// in the bindings), its [`Bounds`], and its accessors. The values are `u64` whatever the
/// field's type; for a `usize` field the bounds stop at `usize::MAX`, so [`set`](Self::set)
/// never truncates.
pub struct IntField {
    /// The field's name, e.g. `"memtable_size"`.
    pub name: &'static str,
    /// The values [`set`](Self::set) and [`Options::validate`] accept.
    pub bounds: Bounds,
    get: fn(&Options) -> u64,
    put: fn(&mut Options, u64),
}

impl fmt::Debug for IntField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntField")
            .field("name", &self.name)
            .field("bounds", &self.bounds)
            .finish()
    }
}

impl IntField {
    /// The field's value in `options`.
    pub fn get(&self, options: &Options) -> u64 {
        (self.get)(options)
    }

    /// Checks `value` against [`bounds`](Self::bounds).
    ///
    /// Errors: [`Error::InvalidArgument`] out of range (see [`Bounds::check`]).
    pub fn check(&self, value: u64) -> Result<()> {
        self.bounds.check(self.name, value)
    }

    /// Sets the field in `options` to `value` if it is in range; otherwise leaves `options`
    /// unchanged.
    ///
    /// Errors: [`Error::InvalidArgument`] out of range (see [`Bounds::check`]).
    pub fn set(&self, options: &mut Options, value: u64) -> Result<()> {
        self.check(value)?;
        (self.put)(options, value);
        Ok(())
    }

    /// The field called `name` (one of [`ALL`]), or `None`.
    pub fn named(name: &str) -> Option<&'static IntField> {
        ALL.iter().copied().find(|f| f.name == name)
    }
}

/// The bounds of a `usize` field: `min` up to `max`, and never beyond `usize::MAX`.
const fn sized(min: u64, max: u64, unit: Unit) -> Bounds {
    let cap = usize::MAX as u64;
    Bounds {
        min,
        max: if max < cap { max } else { cap },
        unit,
    }
}

const fn wide(min: u64, unit: Unit) -> Bounds {
    Bounds {
        min,
        max: u64::MAX,
        unit,
    }
}

macro_rules! field {
    ($(#[$doc:meta])* $const:ident: $name:ident as usize, $min:expr, $max:expr, $unit:ident) => {
        $(#[$doc])*
        pub const $const: IntField = IntField {
            name: stringify!($name),
            bounds: sized($min, $max, Unit::$unit),
            get: |o| o.$name as u64,
            // In range means at most usize::MAX (see `sized`), so the cast is exact.
            put: |o, v| o.$name = v as usize,
        };
    };
    ($(#[$doc:meta])* $const:ident: $name:ident as u64, $min:expr, $unit:ident) => {
        $(#[$doc])*
        pub const $const: IntField = IntField {
            name: stringify!($name),
            bounds: wide($min, Unit::$unit),
            get: |o| o.$name,
            put: |o, v| o.$name = v,
        };
    };
}

const NO_MAX: u64 = u64::MAX;

field!(
    /// [`Options::memtable_size`]: 4096 bytes to [`MAX_MEMTABLE_SIZE`] (whose doc says why
    /// there is a maximum).
    MEMTABLE_SIZE: memtable_size as usize, 4096, MAX_MEMTABLE_SIZE as u64, Bytes
);
field!(
    /// [`Options::max_immutable_memtables`]: at least 1.
    MAX_IMMUTABLE_MEMTABLES: max_immutable_memtables as usize, 1, NO_MAX, Count
);
field!(
    /// [`Options::block_size`]: 256 bytes to 64 MiB. The largest block a reader accepts,
    /// [`MAX_DECOMPRESSED_BLOCK_LEN`](crate::sstable::compress::MAX_DECOMPRESSED_BLOCK_LEN),
    /// is derived from this maximum.
    BLOCK_SIZE: block_size as usize, 256, 64 << 20, Bytes
);
field!(
    /// [`Options::block_restart_interval`]: 1 to 1024 keys.
    BLOCK_RESTART_INTERVAL: block_restart_interval as usize, 1, 1024, Count
);
field!(
    /// [`Options::bloom_bits_per_key`]: 0 (no filter) to 64 bits.
    BLOOM_BITS_PER_KEY: bloom_bits_per_key as usize, 0, 64, Count
);
field!(
    /// [`Options::l0_compaction_trigger`]: at least 2 files.
    L0_COMPACTION_TRIGGER: l0_compaction_trigger as usize, 2, NO_MAX, Count
);
field!(
    /// [`Options::l0_slowdown_writes_trigger`]: bounded by the two other L0 triggers only
    /// (checked by [`Options::validate`]).
    L0_SLOWDOWN_WRITES_TRIGGER: l0_slowdown_writes_trigger as usize, 0, NO_MAX, Count
);
field!(
    /// [`Options::l0_stop_writes_trigger`]: at least `l0_compaction_trigger` (checked by
    /// [`Options::validate`]).
    L0_STOP_WRITES_TRIGGER: l0_stop_writes_trigger as usize, 0, NO_MAX, Count
);
field!(
    /// [`Options::target_file_size`]: at least 4096 bytes.
    TARGET_FILE_SIZE: target_file_size as u64, 4096, Bytes
);
field!(
    /// [`Options::max_bytes_for_level_base`]: at least 4096 bytes.
    MAX_BYTES_FOR_LEVEL_BASE: max_bytes_for_level_base as u64, 4096, Bytes
);
field!(
    /// [`Options::level_size_multiplier`]: at least 2.
    LEVEL_SIZE_MULTIPLIER: level_size_multiplier as u64, 2, Count
);
field!(
    /// [`Options::tiered_size_ratio`]: any percentage.
    TIERED_SIZE_RATIO: tiered_size_ratio as u64, 0, Count
);
field!(
    /// [`Options::tiered_max_size_amplification_percent`]: any percentage.
    TIERED_MAX_SIZE_AMPLIFICATION_PERCENT: tiered_max_size_amplification_percent as u64, 0, Count
);
field!(
    /// [`Options::tiered_min_merge_width`]: at least 2 runs.
    TIERED_MIN_MERGE_WIDTH: tiered_min_merge_width as usize, 2, NO_MAX, Count
);
field!(
    /// [`Options::max_background_compactions`]: 1 to 16 threads.
    MAX_BACKGROUND_COMPACTIONS: max_background_compactions as usize, 1, 16, Count
);
field!(
    /// [`Options::block_cache_size`]: any size (0 disables the cache).
    BLOCK_CACHE_SIZE: block_cache_size as usize, 0, NO_MAX, Bytes
);
field!(
    /// [`Options::max_open_files`]: at least 16 tables.
    MAX_OPEN_FILES: max_open_files as usize, 16, NO_MAX, Count
);

/// Every numeric field, in the order [`Options::validate`] checks them.
pub const ALL: &[&IntField] = &[
    &MEMTABLE_SIZE,
    &MAX_IMMUTABLE_MEMTABLES,
    &BLOCK_SIZE,
    &BLOCK_RESTART_INTERVAL,
    &BLOOM_BITS_PER_KEY,
    &L0_COMPACTION_TRIGGER,
    &L0_SLOWDOWN_WRITES_TRIGGER,
    &L0_STOP_WRITES_TRIGGER,
    &TARGET_FILE_SIZE,
    &MAX_BYTES_FOR_LEVEL_BASE,
    &LEVEL_SIZE_MULTIPLIER,
    &TIERED_SIZE_RATIO,
    &TIERED_MAX_SIZE_AMPLIFICATION_PERCENT,
    &TIERED_MIN_MERGE_WIDTH,
    &MAX_BACKGROUND_COMPACTIONS,
    &BLOCK_CACHE_SIZE,
    &MAX_OPEN_FILES,
];

/// The zstd levels [`Compression::Zstd`](super::Compression::Zstd) accepts: 1 (fastest) to
/// 22 (smallest), zstd's own range.
pub const ZSTD_LEVEL: Bounds = Bounds {
    min: 1,
    max: 22,
    unit: Unit::Count,
};

/// The byte thresholds [`SyncMode::Batched`](super::SyncMode::Batched) accepts: at least 1
/// (0 would fsync on every write, which is [`SyncMode::Always`](super::SyncMode::Always)).
pub const SYNC_BATCHED_BYTES: Bounds = wide(1, Unit::Bytes);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_and_messages() {
        assert_eq!(
            MEMTABLE_SIZE.bounds.describe(),
            "between 4096 bytes and 16 GiB"
        );
        assert_eq!(BLOCK_SIZE.bounds.describe(), "between 256 bytes and 64 MiB");
        assert_eq!(L0_COMPACTION_TRIGGER.bounds.describe(), "at least 2");
        assert_eq!(BLOOM_BITS_PER_KEY.bounds.describe(), "at most 64");
        assert_eq!(TARGET_FILE_SIZE.bounds.describe(), "at least 4096 bytes");
        assert_eq!(BLOCK_CACHE_SIZE.bounds.describe(), "any value");
        assert_eq!(ZSTD_LEVEL.describe(), "between 1 and 22");
        let e = MEMTABLE_SIZE.check(10).unwrap_err().to_string();
        assert!(
            e.ends_with("memtable_size must be between 4096 bytes and 16 GiB (got 10)"),
            "{e}"
        );
    }

    #[test]
    fn set_checks_then_writes() {
        let mut o = Options::default();
        MEMTABLE_SIZE.set(&mut o, 1 << 20).unwrap();
        assert_eq!(o.memtable_size, 1 << 20);
        assert!(MEMTABLE_SIZE.set(&mut o, u64::MAX).is_err());
        assert!(MEMTABLE_SIZE
            .set(&mut o, MAX_MEMTABLE_SIZE as u64 + 1)
            .is_err());
        assert_eq!(
            o.memtable_size,
            1 << 20,
            "a refused value leaves the field alone"
        );
        TARGET_FILE_SIZE.set(&mut o, u64::MAX).unwrap();
        assert_eq!(o.target_file_size, u64::MAX);
        assert_eq!(
            IntField::named("max_open_files").map(|f| f.name),
            Some("max_open_files")
        );
        assert!(IntField::named("fs").is_none());
    }

    #[test]
    fn every_default_is_in_range_and_every_field_round_trips() {
        let defaults = Options::default();
        let mut names: Vec<_> = ALL.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "a field is listed twice");
        for f in ALL {
            let v = f.get(&defaults);
            f.check(v).unwrap();
            let mut o = Options::default();
            f.set(&mut o, f.bounds.min).unwrap();
            assert_eq!(f.get(&o), f.bounds.min, "{}", f.name);
        }
    }
}
