//! What a burst of sign-ins leaves behind in the server's memory.

use crate::support::*;

/// argon2id takes 19 MiB per hash (DESIGN §6). glibc used to keep that block on every thread
/// that had hashed once, so a few concurrent sign-ins left the provider 100 MiB larger for good.
#[tokio::test]
async fn sign_ins_give_their_password_hashing_memory_back() {
    let p = TestProvider::with_scene(&[]).await;
    let Some(before) = p.rss_kib() else { return };
    for _ in 0..3 {
        let sign_ins = (0..4).map(|_| async {
            let browser = Browser::new();
            p.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await
        });
        futures_util::future::join_all(sign_ins).await;
    }
    let after = p.rss_kib().expect("the server is running");
    assert!(after < before + 40 * 1024, "resident memory grew from {before} KiB to {after} KiB over 12 sign-ins");
}
