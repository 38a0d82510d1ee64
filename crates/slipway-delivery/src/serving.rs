//! Serving HTTP/1 connections from a listener until told to stop, for the router and the demo
//! service alike: each accepted connection (no Nagle) is served by the service `make` gives for
//! its client's address, upgrades passed on; on stop the listener closes, each connection
//! finishes the request it is on (graceful shutdown), and this returns once all have.

use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A boxed error, as hyper takes them.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `listener`'s connections until `stop` turns true (see the module documentation);
/// `what` names the server in logs.
pub(crate) async fn serve_connections<S, B>(
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    what: &'static str,
    make: impl Fn(SocketAddr) -> S,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, address) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of descriptors, say: do not spin.
                        tracing::warn!(%error, server = what, "a connection could not be accepted");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = make(address);
                let mut connection_stop = stop.clone();
                connections.spawn(async move {
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    tokio::pin!(connection);
                    let ended = tokio::select! {
                        ended = connection.as_mut() => ended,
                        () = async { let _ = connection_stop.wait_for(|stopped| *stopped).await; } => {
                            connection.as_mut().graceful_shutdown();
                            connection.await
                        }
                    };
                    if let Err(error) = ended {
                        tracing::debug!(%error, server = what, "a connection ended with an error");
                    }
                });
            }
            // Finished connections are let go of as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => break,
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}
