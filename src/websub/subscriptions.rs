//! The built-in hub's subscriptions on disk: one SQLite database, so that subscribers keep
//! receiving after a restart without subscribing again. The hub keeps every live subscription
//! in memory as well; the database is written on each change and read once, at start.
//!
//! The schema carries its version in SQLite's `user_version`; [`MIGRATIONS`] brings any older
//! database up to date in one transaction, and a database from a newer tidings is refused
//! rather than guessed at.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

/// Each step takes the schema from version `i` to `i + 1`. Only ever append.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE subscriptions (
        topic TEXT NOT NULL,
        callback TEXT NOT NULL,
        secret TEXT,
        expires INTEGER NOT NULL,
        PRIMARY KEY (topic, callback)
    ) WITHOUT ROWID;
    CREATE INDEX subscriptions_by_expiry ON subscriptions (expires);
"];

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// It cannot be opened or created.
    #[error("cannot open the hub's database {path}: {source}")]
    Open {
        /// The configured path.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// It was written by a newer tidings.
    #[error(
        "the hub's database {path} has schema version {found}, newer than this tidings knows ({known})"
    )]
    TooNew {
        /// The configured path.
        path: PathBuf,
        /// Its schema version.
        found: usize,
        /// The newest this build knows.
        known: usize,
    },
    /// A read or write failed.
    #[error("the hub's database: {0}")]
    Query(#[from] rusqlite::Error),
}

/// One subscriber's interest in one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The feed's URL.
    pub topic: String,
    /// Where its new content is sent.
    pub callback: String,
    /// The key deliveries are signed with, when the subscriber gave one.
    pub secret: Option<String>,
    /// When the lease ends, in Unix seconds.
    pub expires: i64,
}

/// The database.
#[derive(Debug)]
pub struct Subscriptions {
    db: Connection,
}

impl Subscriptions {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, DatabaseError> {
        let open = |source| DatabaseError::Open {
            path: path.to_owned(),
            source,
        };
        let db = Connection::open(path).map_err(open)?;
        // WAL: a write does not block readers, and a crash mid-write leaves the last commit.
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(open)?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open)?;
        db.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open)?;
        let mut subscriptions = Self { db };
        subscriptions.migrate(path)?;
        Ok(subscriptions)
    }

    fn migrate(&mut self, path: &Path) -> Result<(), DatabaseError> {
        let found: i64 = self
            .db
            .pragma_query_value(None, "user_version", |row| row.get(0))?;
        let found = usize::try_from(found).unwrap_or(usize::MAX);
        if found > MIGRATIONS.len() {
            return Err(DatabaseError::TooNew {
                path: path.to_owned(),
                found,
                known: MIGRATIONS.len(),
            });
        }
        if found == MIGRATIONS.len() {
            return Ok(());
        }
        let tx = self.db.transaction()?;
        for step in &MIGRATIONS[found..] {
            tx.execute_batch(step)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
        tx.commit()?;
        Ok(())
    }

    /// Adds a subscription, or renews it (new lease, new secret) when the subscriber already
    /// has one to the topic.
    pub fn save(&self, subscription: &Subscription) -> Result<(), DatabaseError> {
        self.db
            .prepare_cached(
                "INSERT INTO subscriptions (topic, callback, secret, expires) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (topic, callback) DO UPDATE SET secret = ?3, expires = ?4",
            )?
            .execute(params![
                subscription.topic,
                subscription.callback,
                subscription.secret,
                subscription.expires
            ])?;
        Ok(())
    }

    /// Removes a subscription; whether there was one.
    pub fn remove(&self, topic: &str, callback: &str) -> Result<bool, DatabaseError> {
        let removed = self
            .db
            .prepare_cached("DELETE FROM subscriptions WHERE topic = ?1 AND callback = ?2")?
            .execute(params![topic, callback])?;
        Ok(removed > 0)
    }

    /// Every subscription whose lease runs past `now`, after deleting those that ended.
    pub fn live(&self, now: i64) -> Result<Vec<Subscription>, DatabaseError> {
        self.expire(now)?;
        let mut query = self.db.prepare_cached(
            "SELECT topic, callback, secret, expires FROM subscriptions ORDER BY topic, callback",
        )?;
        let rows = query.query_map([], |row| {
            Ok(Subscription {
                topic: row.get(0)?,
                callback: row.get(1)?,
                secret: row.get(2)?,
                expires: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes the subscriptions whose lease ended by `now`; how many.
    pub fn expire(&self, now: i64) -> Result<usize, DatabaseError> {
        Ok(self
            .db
            .prepare_cached("DELETE FROM subscriptions WHERE expires <= ?1")?
            .execute(params![now])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(topic: &str, callback: &str, expires: i64) -> Subscription {
        Subscription {
            topic: topic.into(),
            callback: callback.into(),
            secret: Some("s3cret".into()),
            expires,
        }
    }

    #[test]
    fn subscriptions_survive_reopening_and_renewal_replaces_the_lease() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.sqlite3");
        {
            let db = Subscriptions::open(&path).expect("open");
            db.save(&subscription("t1", "http://a/cb", 100))
                .expect("save");
            db.save(&subscription("t2", "http://a/cb", 100))
                .expect("save");
            let mut renewed = subscription("t1", "http://a/cb", 500);
            renewed.secret = None;
            db.save(&renewed).expect("renew");
        }
        let db = Subscriptions::open(&path).expect("reopen");
        let live = db.live(50).expect("live");
        assert_eq!(
            live,
            [
                Subscription {
                    secret: None,
                    ..subscription("t1", "http://a/cb", 500)
                },
                subscription("t2", "http://a/cb", 100),
            ]
        );
        assert!(db.remove("t2", "http://a/cb").expect("remove"));
        assert!(!db.remove("t2", "http://a/cb").expect("remove again"));
    }

    #[test]
    fn ended_leases_are_deleted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Subscriptions::open(&dir.path().join("hub.sqlite3")).expect("open");
        db.save(&subscription("t", "http://a/1", 10)).expect("save");
        db.save(&subscription("t", "http://a/2", 20)).expect("save");
        let live = db.live(10).expect("live");
        assert_eq!(live, [subscription("t", "http://a/2", 20)]);
        assert_eq!(db.expire(20).expect("expire"), 1);
    }

    #[test]
    fn a_database_from_a_newer_tidings_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.sqlite3");
        Subscriptions::open(&path).expect("create");
        let raw = Connection::open(&path).expect("raw");
        raw.pragma_update(None, "user_version", 99).expect("bump");
        drop(raw);
        match Subscriptions::open(&path) {
            Err(DatabaseError::TooNew { found: 99, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
