//! The few protobuf messages the lab's SDS server speaks, in protobuf's wire format.
//!
//! Envoy asks for secrets with a `DiscoveryRequest` and takes them from a `DiscoveryResponse`
//! whose resources are `Secret`s packed in `Any`. Only the fields the exchange needs are read
//! or written; everything else Envoy sends is skipped by wire type, as protobuf allows.
//!
//! Field numbers (envoy/service/discovery/v3/discovery.proto,
//! envoy/extensions/transport_sockets/tls/v3/secret.proto and common.proto,
//! envoy/config/core/v3/base.proto, google/protobuf/any.proto):
//! `DiscoveryRequest{version_info=1, resource_names=3, type_url=4, response_nonce=5,
//! error_detail=6}`, `DiscoveryResponse{version_info=1, resources=2, type_url=4, nonce=5}`,
//! `Any{type_url=1, value=2}`, `Secret{name=1, tls_certificate=2, validation_context=4}`,
//! `TlsCertificate{certificate_chain=1, private_key=2}`,
//! `CertificateValidationContext{trusted_ca=1}`, `DataSource{inline_bytes=2}`.

/// The type URL of an SDS secret.
pub const SECRET_TYPE: &str =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

/// What the lab reads from Envoy's `DiscoveryRequest`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DiscoveryRequest {
    pub version_info: String,
    pub resource_names: Vec<String>,
    pub type_url: String,
    pub response_nonce: String,
    /// Envoy rejected the previous response (a NACK).
    pub has_error: bool,
}

/// A secret as the SDS server sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// A certificate chain and its private key (PEM).
    Certificate {
        name: String,
        chain: Vec<u8>,
        key: Vec<u8>,
    },
    /// The CA certificates that validate peers (PEM).
    Root { name: String, ca: Vec<u8> },
}

/// A malformed message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed protobuf message: {0}")]
pub struct DecodeError(pub &'static str);

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, (u64::from(field) << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn data_source(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    bytes_field(&mut out, 2, bytes);
    out
}

impl Secret {
    pub fn name(&self) -> &str {
        match self {
            Secret::Certificate { name, .. } | Secret::Root { name, .. } => name,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        bytes_field(&mut out, 1, self.name().as_bytes());
        match self {
            Secret::Certificate { chain, key, .. } => {
                let mut cert = Vec::new();
                bytes_field(&mut cert, 1, &data_source(chain));
                bytes_field(&mut cert, 2, &data_source(key));
                bytes_field(&mut out, 2, &cert);
            }
            Secret::Root { ca, .. } => {
                let mut validation = Vec::new();
                bytes_field(&mut validation, 1, &data_source(ca));
                bytes_field(&mut out, 4, &validation);
            }
        }
        out
    }
}

/// A `DiscoveryResponse` carrying `secrets`.
pub fn discovery_response(version: &str, nonce: &str, secrets: &[Secret]) -> Vec<u8> {
    let mut out = Vec::new();
    bytes_field(&mut out, 1, version.as_bytes());
    for s in secrets {
        let mut any = Vec::new();
        bytes_field(&mut any, 1, SECRET_TYPE.as_bytes());
        bytes_field(&mut any, 2, &s.encode());
        bytes_field(&mut out, 2, &any);
    }
    bytes_field(&mut out, 4, SECRET_TYPE.as_bytes());
    bytes_field(&mut out, 5, nonce.as_bytes());
    out
}

/// A field's number and, when length-delimited, its bytes.
type WireField<'a> = (u64, Option<&'a [u8]>);

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .rest
                .split_first()
                .ok_or(DecodeError("truncated varint"))?;
            self.rest = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], DecodeError> {
        let n = usize::try_from(n).map_err(|_| DecodeError("length out of range"))?;
        if n > self.rest.len() {
            return Err(DecodeError("truncated field"));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    /// The next (field number, value) with length-delimited values as bytes; other wire
    /// types are skipped and reported with an empty value.
    fn field(&mut self) -> Result<Option<WireField<'a>>, DecodeError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => {
                self.varint()?;
                None
            }
            1 => {
                self.take(8)?;
                None
            }
            2 => {
                let n = self.varint()?;
                Some(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                None
            }
            _ => return Err(DecodeError("unsupported wire type")),
        };
        Ok(Some((key >> 3, value)))
    }
}

fn string(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("string is not UTF-8"))
}

/// Read the fields of a `DiscoveryRequest` the server acts on.
pub fn decode_request(bytes: &[u8]) -> Result<DiscoveryRequest, DecodeError> {
    let mut r = Reader { rest: bytes };
    let mut req = DiscoveryRequest::default();
    while let Some((field, value)) = r.field()? {
        match (field, value) {
            (1, Some(v)) => req.version_info = string(v)?,
            (3, Some(v)) => req.resource_names.push(string(v)?),
            (4, Some(v)) => req.type_url = string(v)?,
            (5, Some(v)) => req.response_nonce = string(v)?,
            (6, Some(_)) => req.has_error = true,
            _ => {}
        }
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(names: &[&str], nonce: &str, node: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if node {
            // A node with an id and a varint field inside, as Envoy sends on its first message.
            let mut n = Vec::new();
            bytes_field(&mut n, 1, b"sidecar~127.0.0.2~p.ns~ns.svc.cluster.local");
            varint(&mut n, 5 << 3);
            varint(&mut n, 300);
            bytes_field(&mut out, 2, &n);
        }
        for name in names {
            bytes_field(&mut out, 3, name.as_bytes());
        }
        bytes_field(&mut out, 4, SECRET_TYPE.as_bytes());
        bytes_field(&mut out, 5, nonce.as_bytes());
        out
    }

    #[test]
    fn reads_the_names_nonce_and_type_and_skips_the_rest() {
        let req = decode_request(&request(&["file-root:/x/ca.crt", "default"], "7", true))
            .expect("decodes");
        assert_eq!(req.resource_names, vec!["file-root:/x/ca.crt", "default"]);
        assert_eq!(req.type_url, SECRET_TYPE);
        assert_eq!(req.response_nonce, "7");
        assert!(!req.has_error);
    }

    #[test]
    fn a_truncated_message_is_an_error_not_a_panic() {
        let bytes = request(&["default"], "1", false);
        for cut in 1..bytes.len() {
            let _ = decode_request(&bytes[..cut]);
        }
        assert!(decode_request(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn a_response_packs_each_secret_in_an_any() {
        let bytes = discovery_response(
            "1",
            "2",
            &[Secret::Root {
                name: "ROOTCA".into(),
                ca: b"PEM".to_vec(),
            }],
        );
        let mut r = Reader { rest: &bytes };
        let mut fields = Vec::new();
        while let Some((f, v)) = r.field().expect("valid") {
            fields.push((f, v.map(<[u8]>::to_vec)));
        }
        assert_eq!(fields[0], (1, Some(b"1".to_vec())));
        assert_eq!(fields[2], (4, Some(SECRET_TYPE.as_bytes().to_vec())));
        assert_eq!(fields[3], (5, Some(b"2".to_vec())));
        let any = fields[1].1.clone().expect("any");
        let mut a = Reader { rest: &any };
        let (f1, type_url) = a.field().expect("ok").expect("type");
        assert_eq!((f1, type_url), (1, Some(SECRET_TYPE.as_bytes())));
        let (_, secret) = a.field().expect("ok").expect("value");
        let mut s = Reader {
            rest: secret.expect("bytes"),
        };
        assert_eq!(s.field().expect("ok"), Some((1, Some(&b"ROOTCA"[..]))));
        let (f, validation) = s.field().expect("ok").expect("validation");
        assert_eq!(f, 4);
        // validation_context{trusted_ca{inline_bytes "PEM"}}
        assert_eq!(validation, Some(&[10u8, 5, 18, 3, b'P', b'E', b'M'][..]));
    }
}
