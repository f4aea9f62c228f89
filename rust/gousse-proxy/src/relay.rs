//! Copying bytes between the client and the I2P stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::http::rewrite_response_head;

const CHUNK: usize = 16 * 1024;

/// Relays `client` <-> `server` until the server side ends: `to_server` is written
/// first; a client EOF is passed on as a write shutdown and the relay goes on; a
/// server EOF ends the relay (after shutting the client's write side). With
/// `rewrite_response`, the first response head is rewritten by
/// [`rewrite_response_head`]; every other byte passes unchanged. Ends with
/// `TimedOut` when no byte moved either way for `idle`.
pub(crate) async fn relay<C, S>(
    client: C,
    server: S,
    to_server: &[u8],
    rewrite_response: bool,
    idle: Duration,
) -> std::io::Result<()>
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut sr, mut sw) = tokio::io::split(server);
    let start = Instant::now();
    let last = AtomicU64::new(0);
    let touch = || {
        let ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        last.store(ms, Ordering::Relaxed);
    };
    let up = async {
        sw.write_all(to_server).await?;
        sw.flush().await?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = cr.read(&mut buf).await?;
            if n == 0 {
                // Half-close; the server may still answer.
                let _ = sw.shutdown().await;
                break;
            }
            sw.write_all(buf.get(..n).unwrap_or(&[])).await?;
            sw.flush().await?;
            touch();
        }
        std::future::pending::<std::io::Result<()>>().await
    };
    let down = async {
        let mut buf = vec![0u8; CHUNK];
        if rewrite_response {
            let mut head: Vec<u8> = Vec::new();
            loop {
                let n = sr.read(&mut buf).await?;
                if n == 0 {
                    cw.write_all(&head).await?;
                    let _ = cw.shutdown().await;
                    return Ok(());
                }
                touch();
                head.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                match rewrite_response_head(&head) {
                    Ok(None) => continue,
                    Ok(Some((new_head, used))) => {
                        cw.write_all(&new_head).await?;
                        cw.write_all(head.get(used..).unwrap_or(&[])).await?;
                        break;
                    }
                    Err(()) => {
                        cw.write_all(&head).await?;
                        break;
                    }
                }
            }
            cw.flush().await?;
        }
        loop {
            let n = sr.read(&mut buf).await?;
            if n == 0 {
                cw.flush().await?;
                let _ = cw.shutdown().await;
                return Ok(());
            }
            cw.write_all(buf.get(..n).unwrap_or(&[])).await?;
            cw.flush().await?;
            touch();
        }
    };
    let watchdog = async {
        let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        let tick = (idle / 4).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(tick).await;
            let now = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            if now.saturating_sub(last.load(Ordering::Relaxed)) >= idle_ms {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no data either way for the idle timeout",
                ));
            }
        }
    };
    tokio::select! {
        r = up => r,
        r = down => r,
        r = watchdog => r,
    }
}
