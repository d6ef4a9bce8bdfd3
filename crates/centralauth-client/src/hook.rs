//! A hook for applications that mirror users into their own database.

use std::future::Future;
use std::pin::Pin;

use crate::principal::Principal;

/// The error a hook may return; the sign-in or sync then fails with a 500 page and the
/// session is left as it was.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// Called after every successful sync with the provider: at sign-in and after each refresh.
pub trait UserSyncHook: Send + Sync + 'static {
    /// Receives the user as the provider now describes them.
    fn on_sync<'a>(&'a self, principal: &'a Principal) -> Pin<Box<dyn Future<Output = Result<(), HookError>> + Send + 'a>>;
}

/// A hook from an async closure: `hook_fn(|p| async move { db.upsert(p).await })`.
pub fn hook_fn<F, Fut>(f: F) -> impl UserSyncHook
where
    F: Fn(Principal) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HookError>> + Send + 'static,
{
    struct FnHook<F>(F);
    impl<F, Fut> UserSyncHook for FnHook<F>
    where
        F: Fn(Principal) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        fn on_sync<'a>(&'a self, principal: &'a Principal) -> Pin<Box<dyn Future<Output = Result<(), HookError>> + Send + 'a>> {
            Box::pin((self.0)(principal.clone()))
        }
    }
    FnHook(f)
}
