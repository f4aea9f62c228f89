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

    async fn shutdown(self) {
        self.0.shutdown().await;
    }
}
