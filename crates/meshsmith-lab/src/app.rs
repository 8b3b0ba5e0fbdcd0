//! The built-in test app behind each callee sidecar: HTTP/1.1 and gRPC (HTTP/2) on one port.
//!
//! It answers with who it is and who called (the URI from `x-forwarded-client-cert`, which only
//! the sidecar can set), and misbehaves on request so scenarios can provoke each policy:
//! per request through headers (`x-lab-delay-ms`, `x-lab-status`, `x-lab-fail-first` counted per
//! `x-lab-probe`), or for the whole instance through `AppControl` (a slow or failing replica).
//! Every request is counted on arrival, so retries are counted where they land. With
//! `x-lab-call: <host>` the app calls that host through its own sidecar before answering, as a
//! service in the middle of a call chain does, and fails if that call fails.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddrV4;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Instance-wide behaviour, changed by scenarios while the app runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    /// Hold every request this long before answering.
    pub delay_ms: u64,
    /// Fail every request (503, or gRPC UNAVAILABLE).
    pub fail: bool,
}

/// Shared state of one app instance.
#[derive(Debug, Default)]
pub struct AppControl {
    pub service: String,
    pub instance: u32,
    behaviour: Mutex<Behaviour>,
    requests: AtomicU64,
    /// Where a call to each host goes: its sidecar's outbound listener for that host's Service
    /// port; empty until the sidecar is up.
    outbound: Mutex<Vec<(String, SocketAddrV4)>>,
    /// Shared by all instances of a service, so a retry that lands on another replica still
    /// counts as the probe's next attempt.
    probes: Arc<ProbeBook>,
}

/// Attempts seen per `x-lab-probe` id, across the instances of one service.
#[derive(Debug, Default)]
pub struct ProbeBook(Mutex<HashMap<String, u32>>);

impl ProbeBook {
    /// Attempts seen for `probe`.
    pub fn count(&self, probe: &str) -> u32 {
        self.0
            .lock()
            .map(|m| m.get(probe).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn record(&self, probe: &str) -> u32 {
        match self.0.lock() {
            Ok(mut m) => {
                let n = m.entry(probe.to_string()).or_insert(0);
                *n += 1;
                *n
            }
            Err(_) => 1,
        }
    }
}

impl AppControl {
    pub fn set(&self, b: Behaviour) {
        if let Ok(mut guard) = self.behaviour.lock() {
            *guard = b;
        }
    }

    fn behaviour(&self) -> Behaviour {
        self.behaviour.lock().map(|g| *g).unwrap_or_default()
    }

    /// Where `x-lab-call` requests go: the app's own sidecar, per host it may name.
    pub fn set_outbound(&self, routes: Vec<(String, SocketAddrV4)>) {
        if let Ok(mut guard) = self.outbound.lock() {
            *guard = routes;
        }
    }

    fn outbound_addr(&self, host: &str) -> Option<SocketAddrV4> {
        let routes = self.outbound.lock().ok()?;
        routes.iter().find(|(h, _)| h == host).map(|(_, p)| *p)
    }

    /// Requests received since start.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Attempts of `probe` seen by any instance of this service.
    pub fn probe_count(&self, probe: &str) -> u32 {
        self.probes.count(probe)
    }

    /// Count a request; returns its attempt number for its probe (1-based).
    fn arrive(&self, probe: Option<&str>) -> u32 {
        self.requests.fetch_add(1, Ordering::SeqCst);
        probe.map_or(1, |p| self.probes.record(p))
    }
}

/// A running app; the server task stops when this is dropped.
pub struct AppHandle {
    pub port: u16,
    pub control: Arc<AppControl>,
    task: JoinHandle<()>,
}

impl Drop for AppHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Bind 127.0.0.1 on a free port and serve.
pub async fn start(
    service: &str,
    instance: u32,
    probes: Arc<ProbeBook>,
) -> std::io::Result<AppHandle> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let control = Arc::new(AppControl {
        service: service.to_string(),
        instance,
        probes,
        ..AppControl::default()
    });
    let shared = control.clone();
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let control = shared.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(control.clone(), req));
                let mut builder =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                // No stream limit of its own (hyper's default is 200): a pool-overflow burst
                // must be refused by the caller's pool under test, never by the app behind it.
                builder.http2().max_concurrent_streams(None);
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
            // Reap finished connections so the set does not grow for the whole run.
            while connections.try_join_next().is_some() {}
        }
    });
    Ok(AppHandle {
        port,
        control,
        task,
    })
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn number(h: &HeaderMap, name: &str) -> u64 {
    header(h, name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The caller's SPIFFE ID from the `URI=` element the sidecar writes into XFCC.
fn peer(h: &HeaderMap) -> String {
    header(h, "x-forwarded-client-cert")
        .and_then(|v| v.split([';', ',']).find_map(|kv| kv.strip_prefix("URI=")))
        .unwrap_or("")
        .to_string()
}

async fn handle(
    control: Arc<AppControl>,
    req: Request<Incoming>,
) -> Result<Response<LabBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let h = &parts.headers;
    let grpc = header(h, "content-type").is_some_and(|c| c.starts_with("application/grpc"));
    let attempt = control.arrive(header(h, "x-lab-probe"));
    // Drain the request so HTTP/2 flow control never stalls the caller.
    let _ = body.collect().await;
    let instance_wide = control.behaviour();
    let delay = number(h, "x-lab-delay-ms").max(instance_wide.delay_ms);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let upstream_failed = match header(h, "x-lab-call") {
        Some(host) => {
            !call_upstream(&control, host, header(h, "x-lab-call-grpc") == Some("1")).await
        }
        None => false,
    };
    let fail_first = number(h, "x-lab-fail-first");
    let forced = number(h, "x-lab-status");
    let failing = instance_wide.fail || upstream_failed || u64::from(attempt) <= fail_first;
    let answer = serde_json::json!({
        "service": control.service,
        "instance": control.instance,
        "peer": peer(h),
        "attempt": attempt,
    })
    .to_string();
    Ok(if grpc {
        grpc_reply(failing, answer)
    } else {
        let status = if failing {
            503
        } else if (200..600).contains(&forced) {
            forced as u16
        } else {
            200
        };
        http_reply(status, answer)
    })
}

/// Call `host` through this service's sidecar; true when it answered successfully.
async fn call_upstream(control: &AppControl, host: &str, grpc: bool) -> bool {
    let Some(addr) = control.outbound_addr(host) else {
        return false;
    };
    let req = crate::client::AppRequest {
        host: host.to_string(),
        grpc,
        headers: Vec::new(),
    };
    crate::client::send(addr, &req).await.is_ok_and(|r| r.ok())
}

fn http_reply(status: u16, body: String) -> Response<LabBody> {
    let mut resp = Response::new(LabBody::new(Bytes::from(body), None));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

/// Failure is a trailers-only response (grpc-status in the headers), which is the form Envoy's
/// gRPC retry conditions and outlier detection read.
fn grpc_reply(failing: bool, message: String) -> Response<LabBody> {
    let mut resp = if failing {
        let mut r = Response::new(LabBody::new(Bytes::new(), None));
        r.headers_mut()
            .insert("grpc-status", HeaderValue::from_static("14"));
        r.headers_mut().insert(
            "grpc-message",
            HeaderValue::from_static("lab%20instance%20failing"),
        );
        r
    } else {
        let payload = message.into_bytes();
        let mut framed = Vec::with_capacity(payload.len() + 5);
        framed.push(0);
        framed.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(0).to_be_bytes());
        framed.extend_from_slice(&payload);
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        Response::new(LabBody::new(Bytes::from(framed), Some(trailers)))
    };
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    resp
}

/// A body of one data frame and optional trailers (gRPC needs trailers; hyper's `Full` has none).
pub struct LabBody {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl LabBody {
    fn new(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        Self {
            data: (!data.is_empty()).then_some(data),
            trailers,
        }
    }
}

impl hyper::body::Body for LabBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }
}

#[cfg(test)]
mod tests;
