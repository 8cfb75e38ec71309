//! Retrying optimistic transactions: [`RetryPolicy`] and [`run_transaction`].
//!
//! An optimistic commit fails with [`Error::Conflict`] when another commit since the
//! transaction's snapshot wrote what it depends on; nothing was written, and the remedy is to
//! run the whole transaction again on a fresh snapshot. This module is that loop, written
//! once: the Rust API calls [`run_transaction`], and the bindings (`kevo_txn_run` in C,
//! `kevo.run_transaction` in Python), whose transactions are their own handle types, call
//! [`RetryPolicy::run`] around their begin-call-commit step.
//!
//! The policy: retry only on a conflict (any other error is not cured by running again), at
//! most [`max_attempts`](RetryPolicy::max_attempts) attempts in all, and before retry `n`
//! (counted from 0) sleep a uniformly random time in `[0, min(initial_backoff × 2^n,
//! max_backoff)]`. That is exponential back-off with "full jitter" (Marc Brooker,
//! "Exponential Backoff And Jitter", AWS Architecture Blog, 2015): transactions that
//! collided spread out instead of colliding again in step. RocksDB's
//! `OptimisticTransactionDB` leaves the loop to the application (its commit returns
//! `Status::Busy`); FoundationDB's client loop (`fdb_transaction_on_error`) backs off
//! exponentially, by default from 10 ms up to 1 s. kevo's defaults are smaller — 11
//! attempts, 1 ms doubling up to 50 ms, the Python binding's loop before this one — since
//! its conflict check is local and takes microseconds, not a network round trip.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use super::{Transaction, TransactionOptions};
use crate::error::{Error, Result};
use crate::Db;

/// How a conflicted transaction is retried; see the [module documentation](self).
///
/// The default: 11 attempts (one and 10 retries), back-off from 1 ms doubling up to 50 ms.
/// Built with [`RetryPolicy::new`] or from the default with
/// [`with_max_attempts`](Self::with_max_attempts); both check the values, so a policy in
/// hand is always valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 11,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(50),
        }
    }
}

impl RetryPolicy {
    /// A policy of at most `max_attempts` attempts (the first one included), waiting before
    /// retry `n` (from 0) a random time up to `min(initial_backoff × 2^n, max_backoff)`.
    ///
    /// Errors: [`Error::InvalidArgument`] if `max_attempts` is 0 or `initial_backoff` is
    /// longer than `max_backoff`.
    pub fn new(
        max_attempts: u32,
        initial_backoff: Duration,
        max_backoff: Duration,
    ) -> Result<RetryPolicy> {
        if max_attempts == 0 {
            return Err(Error::InvalidArgument(
                "RetryPolicy max_attempts must be at least 1 (got 0)".into(),
            ));
        }
        if initial_backoff > max_backoff {
            return Err(Error::InvalidArgument(format!(
                "RetryPolicy initial_backoff must be at most max_backoff (got {initial_backoff:?} \
                 and {max_backoff:?})"
            )));
        }
        Ok(RetryPolicy {
            max_attempts,
            initial_backoff,
            max_backoff,
        })
    }

    /// This policy with at most `max_attempts` attempts.
    ///
    /// Errors: [`Error::InvalidArgument`] if `max_attempts` is 0.
    pub fn with_max_attempts(self, max_attempts: u32) -> Result<RetryPolicy> {
        RetryPolicy::new(max_attempts, self.initial_backoff, self.max_backoff)
    }

    /// Most attempts made, the first one included (at least 1).
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The back-off ceiling before the first retry.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The most any back-off ceiling grows to.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The longest wait before retry `retry` (0 for the wait after the first attempt):
    /// `min(initial_backoff × 2^retry, max_backoff)`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        1u32.checked_shl(retry)
            .and_then(|factor| self.initial_backoff.checked_mul(factor))
            .map_or(self.max_backoff, |d| d.min(self.max_backoff))
    }

    /// The wait before retry `retry`: uniformly random in `[0, backoff_ceiling(retry)]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = u64::try_from(self.backoff_ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        // A fresh RandomState has fresh keys, so hashing anything gives a new random number;
        // the quality a jitter needs, without a dependency.
        let random = RandomState::new().hash_one(retry);
        // Scales a 64-bit random number into [0, ceiling] without the bias of `%`.
        let nanos = (u128::from(random) * (u128::from(ceiling) + 1)) >> 64;
        Duration::from_nanos(nanos as u64)
    }

    /// Runs `attempt` until it succeeds, fails with an error `is_conflict` does not accept,
    /// or has run [`max_attempts`](Self::max_attempts) times; sleeps [`backoff`](Self::backoff)
    /// on the calling thread between attempts. Returns the last attempt's result. Each
    /// attempt must start a fresh transaction (a finished one cannot be retried).
    ///
    /// This is the loop for callers whose transaction is not a bare [`Transaction`] (the
    /// bindings' handles); with one, [`run_transaction`] is simpler.
    ///
    /// Errors: whatever the last attempt returned.
    pub fn run<T, E>(
        &self,
        mut attempt: impl FnMut() -> std::result::Result<T, E>,
        is_conflict: impl Fn(&E) -> bool,
    ) -> std::result::Result<T, E> {
        let mut retry = 0;
        loop {
            match attempt() {
                Err(e) if is_conflict(&e) && retry + 1 < self.max_attempts => {
                    std::thread::sleep(self.backoff(retry));
                    retry += 1;
                }
                result => return result,
            }
        }
    }
}

/// Runs `f` in a new transaction on `db` (begun with `options`) and commits it, again in a
/// fresh transaction each time the commit fails with [`Error::Conflict`], as `policy` says.
/// Returns what `f` returned on the attempt that committed.
///
/// `f` may commit or roll back the transaction itself; then nothing more is done (a conflict
/// it returns is retried like one from the final commit). If `f` returns an error, the
/// transaction is rolled back and the error returned without a retry (unless it is a
/// conflict). `f` may run several times, so it should have no effect outside the
/// transaction.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let db = kevo::Db::open(dir.path(), kevo::Options::default()).unwrap();
/// db.put(b"alice", b"100").unwrap();
/// let moved = kevo::run_transaction(
///     &db,
///     kevo::TransactionOptions::default(),
///     &kevo::RetryPolicy::default(),
///     |txn| {
///         let alice: u64 = String::from_utf8(txn.get(b"alice")?.unwrap_or_default())
///             .ok()
///             .and_then(|s| s.parse().ok())
///             .unwrap_or(0);
///         txn.put(b"alice", (alice - 30).to_string().as_bytes())?;
///         txn.put(b"bob", b"30")?;
///         Ok(30)
///     },
/// )
/// .unwrap();
/// assert_eq!(moved, 30);
/// assert_eq!(db.get(b"alice").unwrap().as_deref(), Some(&b"70"[..]));
/// ```
///
/// Errors: [`Error::Conflict`] after [`max_attempts`](RetryPolicy::max_attempts) conflicted
/// attempts; otherwise the first other error from beginning, from `f` or from the commit
/// (as [`Db::transaction_with`] and [`Transaction::commit`]).
pub fn run_transaction<T>(
    db: &Db,
    options: TransactionOptions,
    policy: &RetryPolicy,
    mut f: impl FnMut(&Transaction) -> Result<T>,
) -> Result<T> {
    policy.run(
        || {
            let txn = db.transaction_with(options.clone())?;
            let value = f(&txn)?;
            if txn.is_active() {
                txn.commit()?;
            }
            Ok(value)
        },
        |e| matches!(e, Error::Conflict(_)),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::Options;

    fn open() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        (dir, db)
    }

    /// A policy that does not sleep noticeably.
    fn quick(max_attempts: u32) -> RetryPolicy {
        RetryPolicy::new(max_attempts, Duration::ZERO, Duration::from_micros(10)).unwrap()
    }

    #[test]
    fn retries_a_conflict_until_the_commit_succeeds() {
        let (_dir, db) = open();
        let mut calls = 0;
        let r = run_transaction(&db, TransactionOptions::default(), &quick(5), |txn| {
            calls += 1;
            txn.put(b"k", format!("txn {calls}").as_bytes())?;
            if calls <= 2 {
                // A commit outside the transaction, after its snapshot: a conflict.
                db.put(b"k", b"outside")?;
            }
            Ok(calls)
        });
        assert_eq!(r.unwrap(), 3);
        assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"txn 3"[..]));
    }

    #[test]
    fn stops_after_max_attempts_with_the_conflict() {
        let (_dir, db) = open();
        let mut calls = 0;
        let r = run_transaction(&db, TransactionOptions::default(), &quick(3), |txn| {
            calls += 1;
            txn.put(b"k", b"txn")?;
            db.put(b"k", b"outside")
        });
        assert!(matches!(r, Err(Error::Conflict(_))), "{r:?}");
        assert_eq!(calls, 3);
        assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"outside"[..]));

        calls = 0;
        let once = quick(1);
        let r = run_transaction(&db, TransactionOptions::default(), &once, |txn| {
            calls += 1;
            txn.put(b"k", b"txn")?;
            db.put(b"k", b"outside")
        });
        assert!(matches!(r, Err(Error::Conflict(_))) && calls == 1);
    }

    #[test]
    fn other_errors_are_not_retried_and_roll_back() {
        let (_dir, db) = open();
        let mut calls = 0;
        let r: Result<()> = run_transaction(&db, TransactionOptions::default(), &quick(5), |txn| {
            calls += 1;
            txn.put(b"k", b"never")?;
            Err(Error::InvalidArgument("the closure's own error".into()))
        });
        assert!(matches!(r, Err(Error::InvalidArgument(m)) if m == "the closure's own error"));
        assert_eq!(calls, 1);
        assert_eq!(db.get(b"k").unwrap(), None);

        // An error from the engine inside the closure (an empty key) is not retried either.
        calls = 0;
        let r = run_transaction(&db, TransactionOptions::default(), &quick(5), |txn| {
            calls += 1;
            txn.put(b"", b"v")
        });
        assert!(matches!(r, Err(Error::InvalidArgument(_))) && calls == 1);
    }

    #[test]
    fn a_closure_may_finish_the_transaction_itself() {
        let (_dir, db) = open();
        let opts = TransactionOptions::default().isolation(crate::IsolationLevel::Serializable);
        run_transaction(&db, opts.clone(), &quick(2), |txn| {
            txn.put(b"committed", b"1")?;
            txn.commit()
        })
        .unwrap();
        run_transaction(&db, opts.clone(), &quick(2), |txn| {
            txn.put(b"rolled back", b"1")?;
            txn.rollback()
        })
        .unwrap();
        assert_eq!(db.get(b"committed").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(db.get(b"rolled back").unwrap(), None);

        // The closure's own commit conflicting is retried like the final one.
        let mut calls = 0;
        run_transaction(&db, opts, &quick(3), |txn| {
            calls += 1;
            txn.get(b"committed")?;
            if calls == 1 {
                db.put(b"committed", b"2")?;
            }
            txn.put(b"seen", b"1")?;
            txn.commit()
        })
        .unwrap();
        assert_eq!(calls, 2);
    }

    #[test]
    fn run_retries_only_what_is_a_conflict() {
        let policy = quick(4);
        let mut calls = 0;
        let r: std::result::Result<(), &str> = policy.run(
            || {
                calls += 1;
                Err("conflict")
            },
            |e| *e == "conflict",
        );
        assert_eq!((r, calls), (Err("conflict"), 4));
        calls = 0;
        let r: std::result::Result<(), &str> = policy.run(
            || {
                calls += 1;
                Err(if calls == 1 { "conflict" } else { "other" })
            },
            |e| *e == "conflict",
        );
        assert_eq!((r, calls), (Err("other"), 2));
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts(), 11);
        let ceilings: Vec<_> = (0..8).map(|n| p.backoff_ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 50, 50]);
        for retry in [0, 1, 5, 31, 32, 1000, u32::MAX] {
            let ceiling = p.backoff_ceiling(retry);
            assert!(ceiling <= p.max_backoff());
            for _ in 0..200 {
                assert!(p.backoff(retry) <= ceiling);
            }
        }
        // The waits are random, not all the ceiling.
        let waits: std::collections::HashSet<_> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(waits.len() > 1);

        // Ten retries under a 2 ms ceiling sleep at most 20 ms in all.
        let p = RetryPolicy::new(11, Duration::from_millis(1), Duration::from_millis(2)).unwrap();
        let start = Instant::now();
        let r: std::result::Result<(), ()> = p.run(|| Err(()), |_| true);
        assert!(r.is_err());
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn invalid_policies_are_refused() {
        let e = RetryPolicy::default().with_max_attempts(0).unwrap_err();
        assert!(
            e.to_string().contains("max_attempts must be at least 1"),
            "{e}"
        );
        assert!(RetryPolicy::new(3, Duration::from_secs(2), Duration::from_secs(1)).is_err());
        assert_eq!(
            RetryPolicy::default()
                .with_max_attempts(3)
                .unwrap()
                .max_attempts(),
            3
        );
    }
}
