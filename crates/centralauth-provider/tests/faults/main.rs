//! Fault tests against the real `centralauth` binary: the process killed under load, the
//! database stopped and started again, a full disk, one of two instances killed. Each test
//! has its own database (and, where it stops PostgreSQL, a PostgreSQL server of its own on
//! another port, so that the machine's shared server stays up for every other test).
//! Run on PostgreSQL with `CENTRALAUTH_TEST_BACKEND=postgres`.

#[path = "../e2e/support.rs"]
mod support;

mod database_away;
mod full_disk;
mod kill;
mod two_instances;
