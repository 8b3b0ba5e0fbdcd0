//! An empty Kubernetes API on 127.0.0.1 for istiod to watch.
//!
//! istiod at the pinned version cannot start without a Kubernetes client: its ServiceEntry
//! registry asks the multicluster controller for the config cluster's namespaces, and that
//! controller exists only with a client (`pilot-discovery discovery --registries=` panics
//! with a nil dereference in `multicluster.(*Controller).ConfigCluster`). So the lab gives it
//! a cluster with nothing in it: every list is empty, every watch stays open and silent, a
//! named object is not found, and every write is refused. istiod's Kubernetes registry then
//! holds no service, its leader-elected controllers never run, and everything it knows comes
//! from the configuration folder.
//!
//! The streaming-list form of a watch (`sendInitialEvents=true`) is refused as an API server
//! without that feature refuses it, so clients fall back to list-then-watch.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;
type Watch = http_body_util::channel::Sender<Bytes, std::convert::Infallible>;

/// The running API; stopped when dropped.
pub struct EmptyCluster {
    pub port: u16,
    watches: Arc<Mutex<Vec<Watch>>>,
    task: JoinHandle<()>,
}

impl Drop for EmptyCluster {
    fn drop(&mut self) {
        self.task.abort();
        if let Ok(mut w) = self.watches.lock() {
            w.clear();
        }
    }
}

impl EmptyCluster {
    pub async fn start() -> std::io::Result<EmptyCluster> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let watches: Arc<Mutex<Vec<Watch>>> = Arc::default();
        let held = watches.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let held = held.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let held = held.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(&req, &held)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(EmptyCluster {
            port,
            watches,
            task,
        })
    }

    /// A kubeconfig naming this API.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: http://127.0.0.1:{}\nusers:\n- name: lab\n  user: {{}}\ncontexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\ncurrent-context: lab\n",
            self.port
        )
    }
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    reply(
        code,
        json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": reason, "code": code.as_u16(), "message": message }),
    )
}

fn query_has(req: &Request<Incoming>, key: &str, values: &[&str]) -> bool {
    req.uri().query().unwrap_or_default().split('&').any(|kv| {
        kv.split_once('=')
            .is_some_and(|(k, v)| k == key && values.contains(&v))
    })
}

fn answer(req: &Request<Incoming>, watches: &Mutex<Vec<Watch>>) -> Response<Body> {
    if req.method() != Method::GET {
        return status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "the lab's cluster is read-only",
        );
    }
    let path = req.uri().path();
    match path {
        "/version" => {
            return reply(
                StatusCode::OK,
                json!({ "major": "1", "minor": "33", "gitVersion": "v1.33.0" }),
            )
        }
        "/api" => {
            return reply(
                StatusCode::OK,
                json!({ "kind": "APIVersions", "versions": ["v1"] }),
            )
        }
        "/apis" => {
            return reply(
                StatusCode::OK,
                json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": [] }),
            )
        }
        _ => {}
    }
    if query_has(req, "sendInitialEvents", &["true"]) {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "sendInitialEvents is not supported",
        );
    }
    if query_has(req, "watch", &["true", "1"]) {
        let (sender, body) = http_body_util::channel::Channel::new(1);
        if let Ok(mut w) = watches.lock() {
            w.push(sender);
        }
        let mut r = Response::new(body.boxed());
        r.headers_mut().insert(
            "content-type",
            hyper::header::HeaderValue::from_static("application/json"),
        );
        return r;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (api_version, rest) = match segments.as_slice() {
        ["api", v, rest @ ..] => ((*v).to_string(), rest),
        ["apis", g, v, rest @ ..] => (format!("{g}/{v}"), rest),
        _ => return status(StatusCode::NOT_FOUND, "NotFound", "no such path"),
    };
    // `<r>`, `namespaces/<ns>/<r>`: a list; `<r>/<name>`, `namespaces/<ns>/<r>/<name>`: a get.
    let list = matches!(rest.len(), 1 | 3);
    if !list {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the lab's cluster is empty",
        );
    }
    let resource = rest.last().copied().unwrap_or_default();
    reply(
        StatusCode::OK,
        json!({
            "kind": format!("{}List", kind(resource)),
            "apiVersion": api_version,
            "metadata": { "resourceVersion": "1" },
            "items": []
        }),
    )
}

/// The kind of a resource's objects, from its plural name.
fn kind(resource: &str) -> String {
    let singular = if let Some(stem) = resource.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = resource.strip_suffix("sses") {
        format!("{stem}ss")
    } else if let Some(stem) = resource.strip_suffix("ses") {
        format!("{stem}s")
    } else {
        resource.strip_suffix('s').unwrap_or(resource).to_string()
    };
    const KNOWN: [(&str, &str); 12] = [
        ("configmap", "ConfigMap"),
        ("customresourcedefinition", "CustomResourceDefinition"),
        ("endpointslice", "EndpointSlice"),
        ("ingressclass", "IngressClass"),
        (
            "mutatingwebhookconfiguration",
            "MutatingWebhookConfiguration",
        ),
        (
            "validatingwebhookconfiguration",
            "ValidatingWebhookConfiguration",
        ),
        ("serviceaccount", "ServiceAccount"),
        ("serviceentry", "ServiceEntry"),
        ("workloadentry", "WorkloadEntry"),
        ("ingress", "Ingress"),
        ("endpoint", "Endpoints"),
        ("networkpolicy", "NetworkPolicy"),
    ];
    if let Some((_, k)) = KNOWN.iter().find(|(s, _)| *s == singular) {
        return (*k).to_string();
    }
    let mut chars = singular.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::kind;

    #[test]
    fn kinds_from_plurals() {
        assert_eq!(kind("namespaces"), "Namespace");
        assert_eq!(kind("ingresses"), "Ingress");
        assert_eq!(kind("ingressclasses"), "IngressClass");
        assert_eq!(kind("endpointslices"), "EndpointSlice");
        assert_eq!(
            kind("customresourcedefinitions"),
            "CustomResourceDefinition"
        );
        assert_eq!(kind("policies"), "Policy");
        assert_eq!(kind("pods"), "Pod");
    }
}
