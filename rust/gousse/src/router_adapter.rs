//! The one place where the binary meets the router runtime.
//!
//! LEAD: wire `gousse_router::Router` here, and nowhere else. Replace the body of
//! [`start`] with `gousse_router::Router::start(config).await`, wrap the router in a
//! type that implements [`RouterHandle`] (status source for the console, graceful
//! shutdown), and delete [`NotWired`]. The rest of the binary only sees the trait.

use gousse_console::StatusSource;
use gousse_router::RouterConfig;

use crate::run::RouterHandle;

/// Starting the router failed: exit code 1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// The runtime is not part of the build yet.
    #[error("router runtime not wired yet: gousse_router::Router does not exist in this build")]
    NotWired,
}

/// Starts the router (binds its socket, loads keys and the netDb).
pub(crate) async fn start(config: RouterConfig) -> Result<impl RouterHandle, StartError> {
    // LEAD: `let router = gousse_router::Router::start(config).await?;` then wrap it.
    tracing::debug!(target: "gousse", ?config, "starting router");
    Err::<NotWired, _>(StartError::NotWired)
}

/// Placeholder handle: no value of it can exist, so nothing runs by pretence.
pub(crate) enum NotWired {}

impl RouterHandle for NotWired {
    fn status_source(&self) -> StatusSource {
        match *self {}
    }

    async fn shutdown(self) {
        match self {}
    }
}
