//! Time as whole Unix seconds, the unit every expiry in the database is kept in.

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

pub fn now() -> UnixTime {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
