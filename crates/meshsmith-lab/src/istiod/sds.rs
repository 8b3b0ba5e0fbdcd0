//! The secret discovery service every istiod-configured sidecar gets its certificates from, as
//! a sidecar's own agent serves file-mounted certificates.
//!
//! istiod never ships key material: the TLS contexts it writes name secrets and say "ask the
//! `sds-grpc` cluster". A proxy whose node metadata points at certificate files
//! (`TLS_SERVER_CERT_CHAIN`, `TLS_SERVER_KEY`, `TLS_SERVER_ROOT_CERT` and the `TLS_CLIENT_*`
//! trio) is given secrets named after those files: `file-cert:<chain>~<key>` and
//! `file-root:<ca>`. This server answers exactly those names by reading the files, which must
//! lie in the lab's certificate folder; any other name (`default`, `ROOTCA`, a file elsewhere)
//! is not answered and is recorded, so a sidecar left waiting for a secret is reported by name.
//!
//! One gRPC method over HTTP/2 on 127.0.0.1: `SecretDiscoveryService/StreamSecrets`, a stream of
//! `DiscoveryRequest`s answered by `DiscoveryResponse`s; a request that only acknowledges the
//! last response (same names) gets nothing back.

use super::pb::{self, Secret};
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

/// A running SDS server; stopped when dropped.
pub struct SdsServer {
    pub port: u16,
    unserved: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for SdsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SdsServer {
    /// Serve the certificate files under `certs_dir` on a free port of 127.0.0.1.
    pub async fn start(certs_dir: &Path) -> std::io::Result<SdsServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let certs_dir = std::fs::canonicalize(certs_dir)?;
        let unserved = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            certs_dir,
            unserved: unserved.clone(),
        });
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(SdsServer {
            port,
            unserved,
            task,
        })
    }

    /// Secret names a sidecar asked for that the lab does not serve, sorted, once each.
    pub fn unserved(&self) -> Vec<String> {
        let mut names = self.unserved.lock().map(|u| u.clone()).unwrap_or_default();
        names.sort();
        names.dedup();
        names
    }
}

struct State {
    certs_dir: PathBuf,
    unserved: Arc<Mutex<Vec<String>>>,
}

impl State {
    /// Read a certificate file named in a secret, only inside the lab's folder.
    fn read(&self, file: &str) -> Option<Vec<u8>> {
        let path = std::fs::canonicalize(file).ok()?;
        if !path.starts_with(&self.certs_dir) {
            return None;
        }
        std::fs::read(path).ok()
    }

    fn secret(&self, name: &str) -> Option<Secret> {
        if let Some(files) = name.strip_prefix("file-cert:") {
            let (chain, key) = files.split_once('~')?;
            return Some(Secret::Certificate {
                name: name.to_string(),
                chain: self.read(chain)?,
                key: self.read(key)?,
            });
        }
        let ca = name.strip_prefix("file-root:")?;
        Some(Secret::Root {
            name: name.to_string(),
            ca: self.read(ca)?,
        })
    }

    fn secrets(&self, names: &[String]) -> Vec<Secret> {
        let mut out = Vec::new();
        for name in names {
            match self.secret(name) {
                Some(s) => out.push(s),
                None => {
                    if let Ok(mut u) = self.unserved.lock() {
                        u.push(name.clone());
                    }
                }
            }
        }
        out
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    if !req.uri().path().ends_with("/StreamSecrets") {
        return Ok(grpc_error(12, "only StreamSecrets is served"));
    }
    let (mut tx, body) =
        http_body_util::channel::Channel::<Bytes, std::convert::Infallible>::new(4);
    let mut incoming = req.into_body();
    tokio::spawn(async move {
        let mut buffer = BytesMut::new();
        let mut sent: Option<Vec<String>> = None;
        let mut nonce = 0u64;
        while let Some(Ok(frame)) = incoming.frame().await {
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buffer.extend_from_slice(&data);
            while let Some(message) = next_message(&mut buffer) {
                let Ok(request) = pb::decode_request(&message) else {
                    return;
                };
                let mut names = request.resource_names.clone();
                names.sort();
                if request.has_error || sent.as_ref() == Some(&names) {
                    continue;
                }
                nonce += 1;
                let secrets = state.secrets(&names);
                let response = pb::discovery_response("1", &nonce.to_string(), &secrets);
                sent = Some(names);
                if tx.send_data(frame_message(&response)).await.is_err() {
                    return;
                }
            }
        }
    });
    let response = Response::builder()
        .header("content-type", "application/grpc")
        .body(body.boxed())
        .unwrap_or_else(|_| grpc_error(13, "response"));
    Ok(response)
}

/// Take one length-prefixed gRPC message off the front of `buffer`, once it is all there.
fn next_message(buffer: &mut BytesMut) -> Option<Bytes> {
    if buffer.len() < 5 {
        return None;
    }
    let len = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if buffer.len() < 5 + len {
        return None;
    }
    buffer.advance(5);
    Some(buffer.split_to(len).freeze())
}

fn frame_message(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(message.len() + 5);
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    Bytes::from(out)
}

/// A gRPC error carried in the headers alone (a "trailers-only" response).
fn grpc_error(code: u32, message: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()).boxed());
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/grpc"),
    );
    if let Ok(v) = code.to_string().parse() {
        headers.insert("grpc-status", v);
    }
    if let Ok(v) = message.parse() {
        headers.insert("grpc-message", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_secrets_inside_the_lab_folder_are_served() {
        let dir = tempfile::tempdir().expect("dir");
        let outside = tempfile::tempdir().expect("dir");
        for (d, f) in [
            (&dir, "a.crt"),
            (&dir, "a.key"),
            (&dir, "ca.crt"),
            (&outside, "x.key"),
        ] {
            std::fs::write(d.path().join(f), f).expect("write");
        }
        let state = State {
            certs_dir: std::fs::canonicalize(dir.path()).expect("dir"),
            unserved: Arc::default(),
        };
        let p = |d: &tempfile::TempDir, f: &str| d.path().join(f).display().to_string();
        let cert = format!("file-cert:{}~{}", p(&dir, "a.crt"), p(&dir, "a.key"));
        let root = format!("file-root:{}", p(&dir, "ca.crt"));
        let stolen = format!("file-cert:{}~{}", p(&dir, "a.crt"), p(&outside, "x.key"));
        let names = [
            cert.clone(),
            root.clone(),
            stolen.clone(),
            "default".to_string(),
        ];
        let served = state.secrets(&names);
        assert_eq!(
            served,
            vec![
                Secret::Certificate {
                    name: cert,
                    chain: b"a.crt".to_vec(),
                    key: b"a.key".to_vec()
                },
                Secret::Root {
                    name: root,
                    ca: b"ca.crt".to_vec()
                },
            ]
        );
        let unserved = state.unserved.lock().expect("lock").clone();
        assert_eq!(unserved, vec![stolen, "default".to_string()]);
    }
}
