//! The one place where the binary meets the router runtime.

use std::sync::Arc;

use gousse_console::{StatusSource, TransitControl};
use gousse_router::{Router, RouterConfig};

use crate::run::RouterHandle;

/// Starting the router failed: exit code 1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// The router refused to start (keys, store, bind, config).
    #[error(transparent)]
    Router(#[from] gousse_router::StartError),
}

/// Starts the router (binds its socket, loads keys and the netDb).
pub(crate) async fn start(config: RouterConfig) -> Result<impl RouterHandle, StartError> {
    tracing::debug!(target: "gousse", ?config, "starting router");
    Ok(Running(Arc::new(Router::start(config).await?)))
}

/// A running router, shared with the console's status source.
pub(crate) struct Running(Arc<Router>);

impl RouterHandle for Running {
    fn status_source(&self) -> StatusSource {
        let router = self.0.clone();
        Arc::new(move || router.status())
    }

    fn transit_control(&self) -> TransitControl {
        let router = self.0.clone();
        Arc::new(move |limits| {
            let router = router.clone();
            Box::pin(async move { router.set_transit_limits(limits).await })
        })
    }

    fn hosts(&self) -> Option<(gousse_console::HostsSearch, gousse_console::HostsAdd)> {
        use gousse_console::HostEntry;
        use gousse_router::naming;
        let entry = |(name, b32, source): naming::ShownEntry| HostEntry { name, b32, source };
        let book = self.0.address_book();
        let search: gousse_console::HostsSearch = Arc::new(move |needle, limit| {
            naming::search(&book, &needle, limit).map(|v| v.into_iter().map(entry).collect())
        });
        let book = self.0.address_book();
        let add: gousse_console::HostsAdd =
            Arc::new(move |name, dest| naming::add_by_user(&book, &name, &dest).map(entry));
        Some((search, add))
    }

    async fn shutdown(self) {
        self.0.shutdown().await;
    }
}
