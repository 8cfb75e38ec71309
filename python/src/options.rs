//! Keyword arguments of `kevo.open` → [`kevo::Options`].
//!
//! Every engine option is a keyword with the engine's default; the enums are strings
//! (`sync_mode="none" | "always" | "batched"`, `compression="none" | "lz4" | "zstd"`,
//! `compaction_style="leveled" | "tiered"`, `wal_recovery_mode="tolerate_corrupted_tail" |
//! "absolute_consistency" | "point_in_time" | "tolerate_incomplete_tail"`), with their parameters as extra keywords
//! (`sync_bytes`, `sync_interval` for `"batched"`; `zstd_level` for `"zstd"`). The file system
//! is always the real one. A wrong type is a `TypeError`, a bad value an
//! `InvalidArgumentError`, an unknown keyword a `TypeError`.
//!
//! The numeric keywords are the fields of the engine's table `kevo::options::fields`, set
//! through it, and the whole is checked by `Options::validate`: every bound and its message
//! are the engine's. What is left here is Python's side: types, the enum names, and the
//! keywords that only Python splits out (`sync_bytes`, `sync_interval`, `zstd_level`).

use std::time::Duration;

use kevo::options::fields::IntField;
use kevo::wal::WalRecoveryMode;
use kevo::{CompactionStyle, Compression, Options, SyncMode};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

use crate::errors::{invalid_argument, IntoPy};

/// Every keyword `kevo.open` accepts, in the order of the documentation.
pub const NAMES: &[&str] = &[
    "create_if_missing",
    "error_if_exists",
    "read_only",
    "sync_mode",
    "sync_bytes",
    "sync_interval",
    "memtable_size",
    "max_immutable_memtables",
    "block_size",
    "block_restart_interval",
    "bloom_bits_per_key",
    "l0_compaction_trigger",
    "l0_slowdown_writes_trigger",
    "l0_stop_writes_trigger",
    "target_file_size",
    "compaction_style",
    "max_bytes_for_level_base",
    "level_size_multiplier",
    "tiered_size_ratio",
    "tiered_max_size_amplification_percent",
    "tiered_min_merge_width",
    "compression",
    "zstd_level",
    "max_background_compactions",
    "block_cache_size",
    "cache_index_and_filter_blocks",
    "max_open_files",
    "wal_recovery_mode",
    "paranoid_checks",
];

/// The names of the WAL recovery modes, as `wal_recovery_mode` takes them.
const RECOVERY_MODES: &[(&str, WalRecoveryMode)] = &[
    (
        "tolerate_corrupted_tail",
        WalRecoveryMode::TolerateCorruptedTail,
    ),
    ("absolute_consistency", WalRecoveryMode::AbsoluteConsistency),
    ("point_in_time", WalRecoveryMode::PointInTime),
    (
        "tolerate_incomplete_tail",
        WalRecoveryMode::TolerateIncompleteTail,
    ),
];

fn recovery_mode_name(mode: WalRecoveryMode) -> &'static str {
    RECOVERY_MODES
        .iter()
        .find(|(_, m)| *m == mode)
        .map_or("tolerate_corrupted_tail", |(n, _)| n)
}

fn want_bool(name: &str, v: &Bound<'_, PyAny>) -> PyResult<bool> {
    match v.cast::<PyBool>() {
        Ok(b) => Ok(b.is_true()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "option {name} must be a bool, not {}",
            v.get_type().name()?
        ))),
    }
}

fn want_uint(name: &str, v: &Bound<'_, PyAny>) -> PyResult<u64> {
    if v.cast::<PyInt>().is_err() || v.cast::<PyBool>().is_ok() {
        return Err(PyTypeError::new_err(format!(
            "option {name} must be an int, not {}",
            v.get_type().name()?
        )));
    }
    v.extract::<u64>()
        .map_err(|_| invalid_argument(v.py(), format!("option {name} must be >= 0, got {v}")))
}

fn want_str(name: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    match v.cast::<PyString>() {
        Ok(s) => s.extract::<String>(),
        Err(_) => Err(PyTypeError::new_err(format!(
            "option {name} must be a str, not {}",
            v.get_type().name()?
        ))),
    }
}

/// The options for `kwargs` (engine defaults for the keywords not given).
pub fn from_kwargs(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
    let mut o = Options::default();
    let mut sync_mode = "none".to_owned();
    let mut sync_bytes: Option<u64> = None;
    let mut sync_interval: Option<f64> = None;
    let mut compression: Option<String> = None;
    let mut zstd_level: Option<i64> = None;
    if let Some(kwargs) = kwargs {
        for (k, v) in kwargs.iter() {
            let name: String = k.extract()?;
            let n = name.as_str();
            if let Some(field) = IntField::named(n) {
                field.set(&mut o, want_uint(n, &v)?).py_err(py)?;
                continue;
            }
            match n {
                "sync_bytes" | "sync_interval" | "zstd_level" if v.is_none() => {}
                "create_if_missing" => o.create_if_missing = want_bool(n, &v)?,
                "error_if_exists" => o.error_if_exists = want_bool(n, &v)?,
                "read_only" => o.read_only = want_bool(n, &v)?,
                "sync_mode" => sync_mode = want_str(n, &v)?,
                "sync_bytes" if !v.is_none() => sync_bytes = Some(want_uint(n, &v)?),
                "sync_interval" if !v.is_none() => {
                    if v.cast::<PyBool>().is_ok()
                        || (v.cast::<PyFloat>().is_err() && v.cast::<PyInt>().is_err())
                    {
                        return Err(PyTypeError::new_err(format!(
                            "option sync_interval must be a number of seconds, not {}",
                            v.get_type().name()?
                        )));
                    }
                    let secs: f64 = v.extract()?;
                    if !(secs.is_finite() && secs >= 0.0) {
                        return Err(invalid_argument(
                            py,
                            format!("option sync_interval must be >= 0 seconds, got {secs}"),
                        ));
                    }
                    sync_interval = Some(secs);
                }
                "compaction_style" => {
                    o.compaction_style = match want_str(n, &v)?.as_str() {
                        "leveled" => CompactionStyle::Leveled,
                        "tiered" => CompactionStyle::Tiered,
                        other => {
                            return Err(invalid_argument(
                                py,
                                format!(
                                    "option compaction_style must be \"leveled\" or \"tiered\", \
                                     got {other:?}"
                                ),
                            ))
                        }
                    }
                }
                "compression" => compression = Some(want_str(n, &v)?),
                "zstd_level" => {
                    zstd_level = Some(want_uint(n, &v)? as i64);
                }
                "cache_index_and_filter_blocks" => {
                    o.cache_index_and_filter_blocks = want_bool(n, &v)?
                }
                "wal_recovery_mode" => {
                    let mode = want_str(n, &v)?;
                    o.wal_recovery_mode = match RECOVERY_MODES.iter().find(|(m, _)| *m == mode) {
                        Some((_, m)) => *m,
                        None => {
                            return Err(invalid_argument(
                                py,
                                format!(
                                    "option wal_recovery_mode must be \"tolerate_corrupted_tail\", \
                                     \"absolute_consistency\", \"point_in_time\" or \
                                     \"tolerate_incomplete_tail\", got {mode:?}"
                                ),
                            ))
                        }
                    }
                }
                "paranoid_checks" => o.paranoid_checks = want_bool(n, &v)?,
                _ => {
                    return Err(PyTypeError::new_err(format!(
                        "open() got an unexpected keyword argument '{name}' (options: {})",
                        NAMES.join(", ")
                    )))
                }
            }
        }
    }
    o.sync_mode = match (sync_mode.as_str(), sync_bytes, sync_interval) {
        ("none", None, None) => SyncMode::None,
        ("always", None, None) => SyncMode::Always,
        ("batched", Some(bytes), Some(secs)) => SyncMode::Batched {
            bytes,
            interval: Duration::from_secs_f64(secs),
        },
        ("batched", _, _) => {
            return Err(invalid_argument(
                py,
                "sync_mode=\"batched\" needs sync_bytes (int) and sync_interval (seconds)",
            ))
        }
        ("none" | "always", _, _) => {
            return Err(invalid_argument(
                py,
                "sync_bytes and sync_interval apply only to sync_mode=\"batched\"",
            ))
        }
        (other, _, _) => {
            return Err(invalid_argument(
                py,
                format!(
                    "option sync_mode must be \"none\", \"always\" or \"batched\", got {other:?}"
                ),
            ))
        }
    };
    o.compression = match (compression.as_deref(), zstd_level) {
        (None | Some("lz4"), None) => Compression::Lz4,
        (Some("none"), None) => Compression::None,
        (Some("zstd"), level) => Compression::Zstd {
            level: i32::try_from(level.unwrap_or(i64::from(Compression::DEFAULT_ZSTD_LEVEL)))
                .unwrap_or(i32::MAX),
        },
        (None | Some("lz4" | "none"), Some(_)) => {
            return Err(invalid_argument(
                py,
                "zstd_level applies only to compression=\"zstd\"",
            ))
        }
        (Some(other), _) => {
            return Err(invalid_argument(
                py,
                format!("option compression must be \"none\", \"lz4\" or \"zstd\", got {other:?}"),
            ))
        }
    };
    o.validate().py_err(py)?;
    Ok(o)
}

/// `kevo.default_options()`: every keyword of `kevo.open` with its default, from
/// [`Options::default`], in the order of [`NAMES`].
#[pyfunction]
pub fn default_options(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let o = Options::default();
    let d = PyDict::new(py);
    let (mode, bytes, interval) = match o.sync_mode {
        SyncMode::None => ("none", None, None),
        SyncMode::Always => ("always", None, None),
        SyncMode::Batched { bytes, interval } => {
            ("batched", Some(bytes), Some(interval.as_secs_f64()))
        }
    };
    let (compression, level) = match o.compression {
        Compression::None => ("none", None),
        Compression::Lz4 => ("lz4", None),
        Compression::Zstd { level } => ("zstd", Some(level)),
    };
    for &name in NAMES {
        if let Some(field) = IntField::named(name) {
            d.set_item(name, field.get(&o))?;
            continue;
        }
        match name {
            "create_if_missing" => d.set_item(name, o.create_if_missing)?,
            "error_if_exists" => d.set_item(name, o.error_if_exists)?,
            "read_only" => d.set_item(name, o.read_only)?,
            "sync_mode" => d.set_item(name, mode)?,
            "sync_bytes" => d.set_item(name, bytes)?,
            "sync_interval" => d.set_item(name, interval)?,
            "compaction_style" => d.set_item(
                name,
                match o.compaction_style {
                    CompactionStyle::Leveled => "leveled",
                    CompactionStyle::Tiered => "tiered",
                },
            )?,
            "compression" => d.set_item(name, compression)?,
            "zstd_level" => d.set_item(name, level)?,
            "cache_index_and_filter_blocks" => d.set_item(name, o.cache_index_and_filter_blocks)?,
            "wal_recovery_mode" => d.set_item(name, recovery_mode_name(o.wal_recovery_mode))?,
            "paranoid_checks" => d.set_item(name, o.paranoid_checks)?,
            _ => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "kevo._kevo: no default for option {name}"
                )))
            }
        }
    }
    Ok(d)
}
