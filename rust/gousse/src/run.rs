//! Running the router with its console until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;

use gousse_console::{Console, ConsoleError, StatusSource, TransitControl};

/// Exit code after a second SIGINT/SIGTERM cut a graceful shutdown short (128 + SIGINT).
const EXIT_FORCED: i32 = 130;

/// What the binary needs from a running router.
pub(crate) trait RouterHandle: Send + 'static {
    /// A cheap snapshot function the console may call from any thread.
    fn status_source(&self) -> StatusSource;
    /// Applies new transit limits at run time (the console's `POST /api/transit`).
    fn transit_control(&self) -> TransitControl;
    /// The address book for the console's `/hosts` page, if the router has one.
    fn hosts(&self) -> Option<(gousse_console::HostsSearch, gousse_console::HostsAdd)> {
        None
    }
    /// Graceful shutdown; returns when the router has stopped.
    fn shutdown(self) -> impl Future<Output = ()> + Send;
}

/// Running failed after the configuration was accepted: exit code 1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// The router did not start.
    #[error(transparent)]
    Start(#[from] crate::router_adapter::StartError),
    /// The console could not be bound (the router was shut down again).
    #[error(transparent)]
    Console(#[from] ConsoleError),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
}

/// Completes on the first SIGINT or SIGTERM.
pub(crate) struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (inside a tokio runtime). From now on SIGINT and SIGTERM no
    /// longer kill the process outright.
    pub(crate) fn install() -> Result<Self, RunError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                term: signal(SignalKind::terminate()).map_err(RunError::Signals)?,
                int: signal(SignalKind::interrupt()).map_err(RunError::Signals)?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits for the next signal and names it.
    pub(crate) async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// Binds the console (if asked) over the router's status, able to change its transit
/// limits.
pub(crate) async fn bind_console<R: RouterHandle>(
    router: &R,
    addr: Option<SocketAddr>,
) -> Result<Option<Console>, ConsoleError> {
    match addr {
        Some(addr) => {
            let console = Console::bind(addr, router.status_source())
                .await?
                .with_transit_control(router.transit_control());
            Ok(Some(match router.hosts() {
                Some((search, add)) => console.with_hosts(search, add),
                None => console,
            }))
        }
        None => Ok(None),
    }
}

/// Serves the console until `stop` completes, then stops the console and shuts the
/// router down gracefully.
pub(crate) async fn run_until<R: RouterHandle>(
    router: R,
    console: Option<Console>,
    stop: impl Future<Output = ()>,
) {
    let (console_stop, console_stopped) = tokio::sync::oneshot::channel::<()>();
    let console_task = console.map(|console| {
        tokio::spawn(console.run(async {
            let _ = console_stopped.await;
        }))
    });
    stop.await;
    tracing::info!(target: "gousse", "shutting down");
    let _ = console_stop.send(());
    if let Some(task) = console_task {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(target: "gousse", "console: {err}"),
            Err(err) => tracing::warn!(target: "gousse", "console task: {err}"),
        }
    }
    router.shutdown().await;
    tracing::info!(target: "gousse", "router stopped");
}

/// The whole of `gousse run` after configuration: start, serve, stop on a signal.
pub(crate) async fn run(settings: crate::config::Settings) -> Result<(), RunError> {
    let mut signals = Signals::install()?;
    let console_addr = settings.router.console;
    let router = crate::router_adapter::start(settings.router).await?;
    let console = match bind_console(&router, console_addr).await {
        Ok(console) => console,
        Err(err) => {
            router.shutdown().await;
            return Err(err.into());
        }
    };
    // The first signal asks for a graceful shutdown; a second one ends the process at
    // once, in case shutting down hangs.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let name = signals.recv().await;
        tracing::info!(target: "gousse", "{name} received; send it again to quit at once");
        let _ = stop_tx.send(());
        let name = signals.recv().await;
        tracing::warn!(target: "gousse", "second {name}: exiting without finishing shutdown");
        std::process::exit(EXIT_FORCED);
    });
    run_until(router, console, async {
        let _ = stop_rx.await;
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use gousse_router::{Status, TransitLimits};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct FakeRouter {
        stopped: Arc<AtomicBool>,
        /// Transit limits in force, as the router would hold them.
        limits: Arc<Mutex<TransitLimits>>,
    }

    impl FakeRouter {
        fn new(stopped: Arc<AtomicBool>) -> Self {
            Self {
                stopped,
                limits: Arc::new(Mutex::new(TransitLimits {
                    accept: true,
                    max_tunnels: 300,
                    share_bytes_per_s: 100 * 1024,
                })),
            }
        }
    }

    impl RouterHandle for FakeRouter {
        fn status_source(&self) -> StatusSource {
            let limits = Arc::clone(&self.limits);
            Arc::new(move || Status {
                version: "fake".into(),
                known_routers: 77,
                transit_limits: *limits.lock().unwrap(),
                ..Status::default()
            })
        }
        fn transit_control(&self) -> TransitControl {
            let limits = Arc::clone(&self.limits);
            Arc::new(move |new| {
                *limits.lock().unwrap() = new;
                Box::pin(async {})
            })
        }
        async fn shutdown(self) {
            self.stopped.store(true, Ordering::SeqCst);
        }
    }

    async fn get_status(addr: SocketAddr) -> Status {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        let (_, body) = answer.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[tokio::test]
    async fn console_shows_router_and_stop_shuts_both_down() {
        let stopped = Arc::new(AtomicBool::new(false));
        let router = FakeRouter::new(Arc::clone(&stopped));
        let console = bind_console(&router, Some(SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
            .unwrap()
            .unwrap();
        let addr = console.local_addr();
        let (stop, stopped_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run_until(router, Some(console), async {
            let _ = stopped_rx.await;
        }));
        let status = get_status(addr).await;
        assert_eq!(status.version, "fake");
        assert_eq!(status.known_routers, 77);
        assert!(!stopped.load(Ordering::SeqCst));
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap();
        assert!(stopped.load(Ordering::SeqCst), "router shut down");
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "console closed"
        );
    }

    #[tokio::test]
    async fn no_console_when_disabled() {
        let router = FakeRouter::new(Arc::new(AtomicBool::new(false)));
        assert!(bind_console(&router, None).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn console_port_in_use_is_an_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let router = FakeRouter::new(Arc::new(AtomicBool::new(false)));
        let err = bind_console(&router, Some(taken.local_addr().unwrap()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cannot bind the console"), "{err}");
    }

    async fn post_transit(addr: SocketAddr, body: &str) -> (u16, serde_json::Value) {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "POST /api/transit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let code = head.split(' ').nth(1).unwrap().parse().unwrap();
        (code, serde_json::from_str(body).unwrap())
    }

    #[tokio::test]
    async fn console_changes_the_routers_transit_limits() {
        let router = FakeRouter::new(Arc::new(AtomicBool::new(false)));
        let limits = Arc::clone(&router.limits);
        let console = bind_console(&router, Some(SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
            .unwrap()
            .unwrap();
        let addr = console.local_addr();
        let (stop, stopped_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run_until(router, Some(console), async {
            let _ = stopped_rx.await;
        }));

        let (code, json) = post_transit(addr, r#"{"accept": false, "share_kbps": 32}"#).await;
        assert_eq!(code, 200, "{json}");
        let want = TransitLimits {
            accept: false,
            max_tunnels: 300, // kept from the router's status
            share_bytes_per_s: 32 * 1024,
        };
        assert_eq!(
            *limits.lock().unwrap(),
            want,
            "the router got the merged limits"
        );
        assert_eq!(
            json,
            serde_json::json!({"accept": false, "max_tunnels": 300, "share_kbps": 32})
        );
        assert_eq!(get_status(addr).await.transit_limits, want);

        // A refused change leaves the router alone.
        let (code, _) = post_transit(addr, r#"{"max_tunnels": 99999}"#).await;
        assert_eq!(code, 422);
        assert_eq!(*limits.lock().unwrap(), want);

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap();
    }
}
