//! The write deadline of the request being served: a change that could not commit by then is
//! rolled back instead, so that a grant its client has long given up on (the client timed out,
//! and will retry or show an error) is never carried out silently later, when the database
//! comes back. The HTTP layer sets it when a writing request arrives (`http::routes`); the
//! store checks it right before every COMMIT (`store/sql`). Work outside a request (the CLI,
//! background tasks) has none.

use std::future::Future;
use std::time::Instant;

tokio::task_local! {
    static WRITE_DEADLINE: Instant;
}

/// Runs `work` with `deadline` as the instant after which none of its changes may commit.
pub async fn with_write_deadline<F: Future>(deadline: Instant, work: F) -> F::Output {
    WRITE_DEADLINE.scope(deadline, work).await
}

/// The current task's write deadline, if it has one.
pub fn write_deadline() -> Option<Instant> {
    WRITE_DEADLINE.try_with(|deadline| *deadline).ok()
}

/// Whether the current task's write deadline has passed at `now`.
pub fn write_deadline_passed(now: Instant) -> bool {
    write_deadline().is_some_and(|deadline| now >= deadline)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test]
    async fn only_work_run_under_a_deadline_has_one() {
        assert!(write_deadline().is_none());
        assert!(!write_deadline_passed(Instant::now()));
        let deadline = Instant::now() + Duration::from_secs(10);
        with_write_deadline(deadline, async move {
            assert_eq!(write_deadline(), Some(deadline));
            assert!(!write_deadline_passed(deadline - Duration::from_secs(1)));
            assert!(write_deadline_passed(deadline));
        })
        .await;
    }
}
