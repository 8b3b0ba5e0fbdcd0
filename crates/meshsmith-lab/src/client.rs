//! The lab's own clients: what an app sends through its sidecar, what an outsider sends straight
//! at an inbound port (plaintext, or mTLS with an identity of our choosing), and admin reads.
//!
//! Every request opens its own TCP connection with Nagle off, so concurrent requests in a burst
//! are really concurrent and no connection state leaks from one scenario into the next. A gRPC
//! burst multiplexes its streams over a few fresh HTTP/2 connections instead, as a gRPC channel
//! does, so a burst of a thousand streams is in flight at once even on a busy machine.

use crate::certs::{verify_workload_cert, WorkloadCert};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// What came back, and how long it took.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// `grpc-status` from the trailers, or from the headers of a trailers-only response.
    pub grpc_status: Option<u32>,
    pub body: Bytes,
    pub elapsed: Duration,
}

impl Reply {
    /// Success in the protocol's own terms.
    pub fn ok(&self) -> bool {
        self.status == 200 && self.grpc_status.unwrap_or(0) == 0
    }

    /// A JSON field of the test app's answer (gRPC answers carry the JSON in their message).
    pub fn app_field(&self, field: &str) -> Option<String> {
        let body = if self.body.len() >= 5 && self.body[0] == 0 {
            &self.body[5..]
        } else {
            &self.body[..]
        };
        let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
        doc[field].as_str().map(str::to_string)
    }
}

/// One request as an app sends it to its sidecar's outbound listener.
#[derive(Debug, Clone)]
pub struct AppRequest {
    pub host: String,
    pub grpc: bool,
    pub headers: Vec<(&'static str, String)>,
}

/// No lab request may take longer than this, whatever the policy under test says; it only
/// guards against a hung run, every scenario bounds its own waiting far below it.
const REQUEST_CAP: Duration = Duration::from_secs(60);

/// Send `req` over plaintext to `addr` (HTTP/1.1, or HTTP/2 prior knowledge for gRPC).
pub async fn send(addr: SocketAddrV4, req: &AppRequest) -> Result<Reply, String> {
    tokio::time::timeout(REQUEST_CAP, send_uncapped(addr, req))
        .await
        .map_err(|_| format!("no answer within {} s", REQUEST_CAP.as_secs()))?
}

async fn send_uncapped(addr: SocketAddrV4, req: &AppRequest) -> Result<Reply, String> {
    let start = Instant::now();
    let stream = connect(addr).await?;
    let request = build(req)?;
    if req.grpc {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        collect(resp, start).await
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        collect(resp, start).await
    }
}

/// Streams per connection in a gRPC burst.
const STREAMS_PER_CONNECTION: u32 = 100;

/// Send `n` copies of the gRPC request `req` at once over HTTP/2 connections to `addr`, at most
/// `STREAMS_PER_CONNECTION` streams on each; one result per request, timed from its own send.
pub async fn send_grpc_burst(
    addr: SocketAddrV4,
    req: &AppRequest,
    n: u32,
) -> Vec<Result<Reply, String>> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut out = Vec::new();
    let mut remaining = n;
    while remaining > 0 {
        let streams = remaining.min(STREAMS_PER_CONNECTION);
        remaining -= streams;
        let sender = match open_h2(addr).await {
            Ok(sender) => sender,
            Err(e) => {
                out.extend((0..streams).map(|_| Err(e.clone())));
                continue;
            }
        };
        for _ in 0..streams {
            let mut sender = sender.clone();
            let request = build(req);
            tasks.spawn(async move {
                let start = Instant::now();
                let request = request?;
                let exchange = async {
                    sender.ready().await.map_err(|e| e.to_string())?;
                    let resp = sender
                        .send_request(request)
                        .await
                        .map_err(|e| e.to_string())?;
                    collect(resp, start).await
                };
                tokio::time::timeout(REQUEST_CAP, exchange)
                    .await
                    .map_err(|_| format!("no answer within {} s", REQUEST_CAP.as_secs()))?
            });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        out.push(joined.map_err(|e| e.to_string()).and_then(|r| r));
    }
    out
}

async fn open_h2(
    addr: SocketAddrV4,
) -> Result<hyper::client::conn::http2::SendRequest<Full<Bytes>>, String> {
    let stream = connect(addr).await?;
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}

fn build(req: &AppRequest) -> Result<Request<Full<Bytes>>, String> {
    let (path, body) = if req.grpc {
        // An empty gRPC message: uncompressed flag, zero length.
        (
            "/meshsmith.lab.Echo/Call",
            Bytes::from_static(&[0, 0, 0, 0, 0]),
        )
    } else {
        ("/", Bytes::new())
    };
    let mut builder = Request::builder()
        .method(if req.grpc { "POST" } else { "GET" })
        .uri(path)
        .header("host", &req.host);
    if req.grpc {
        builder = builder
            .header("content-type", "application/grpc")
            .header("te", "trailers");
    }
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    builder.body(Full::new(body)).map_err(|e| e.to_string())
}

async fn collect(
    resp: hyper::Response<hyper::body::Incoming>,
    start: Instant,
) -> Result<Reply, String> {
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await.map_err(|e| e.to_string())?;
    let trailers = collected.trailers().cloned();
    let grpc_status = trailers
        .as_ref()
        .and_then(grpc_status)
        .or_else(|| grpc_status(&parts.headers));
    Ok(Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        grpc_status,
        body: collected.to_bytes(),
        elapsed: start.elapsed(),
    })
}

fn grpc_status(h: &HeaderMap) -> Option<u32> {
    h.get("grpc-status")?.to_str().ok()?.parse().ok()
}

async fn connect(addr: SocketAddrV4) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(stream)
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)
}

/// GET on an Envoy admin port.
pub async fn admin_get(port: u16, path: &str) -> Result<Reply, String> {
    let start = Instant::now();
    let stream = connect(loopback(port)).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let request = Request::builder()
        .uri(path)
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(Duration::from_secs(5), sender.send_request(request))
        .await
        .map_err(|_| "admin request timed out".to_string())?
        .map_err(|e| e.to_string())?;
    collect(resp, start).await
}

/// A plain HTTP/1.1 request straight at an inbound listener, as a client outside the mesh sends
/// it. `Err` means the connection was closed without an HTTP answer.
pub async fn send_plaintext(addr: SocketAddrV4, host: &str) -> Result<Reply, String> {
    let req = AppRequest {
        host: host.to_string(),
        grpc: false,
        headers: Vec::new(),
    };
    tokio::time::timeout(Duration::from_secs(5), send(addr, &req))
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
}

/// An HTTP/1.1 request over mutual TLS straight at an inbound port, presenting `identity`,
/// sending `sni` as a mesh client does, and accepting the server only if its certificate
/// carries `server_id` and chains to `ca`.
pub async fn send_mtls(
    addr: SocketAddrV4,
    host: &str,
    sni: &str,
    identity: &WorkloadCert,
    ca: &CertificateDer<'static>,
    server_id: &str,
) -> Result<Reply, String> {
    let start = Instant::now();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(SpiffeVerifier {
        ca: ca.clone(),
        expected: server_id.to_string(),
        provider: provider.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![identity.cert_der.clone()], identity.private_key())
        .map_err(|e| e.to_string())?;
    // What a mesh client offers: Istio's in-mesh protocol first (a PERMISSIVE port takes a
    // TLS connection as mutual TLS only when it carries it), then plain HTTP/1.1.
    config.alpn_protocols = vec![
        b"istio-http/1.1".to_vec(),
        b"istio".to_vec(),
        b"http/1.1".to_vec(),
    ];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = connect(addr).await?;
    // The server does not check the SNI; the URI SAN check happens in the verifier.
    let name = ServerName::try_from(sni.to_string()).map_err(|e| e.to_string())?;
    let tls = connector
        .connect(name, stream)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = AppRequest {
        host: host.to_string(),
        grpc: false,
        headers: Vec::new(),
    };
    let resp = sender
        .send_request(build(&req)?)
        .await
        .map_err(|e| e.to_string())?;
    collect(resp, start).await
}

/// Server verification for workload certificates, which carry a URI SAN and no DNS name.
#[derive(Debug)]
struct SpiffeVerifier {
    ca: CertificateDer<'static>,
    expected: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for SpiffeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        verify_workload_cert(end_entity, &self.ca, &self.expected)
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Percent-encode a query value (Envoy's stats filter is a regex full of `|` and `.`).
pub fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
