//! A throw-away CA and SPIFFE workload certificates, made in process for one lab run.
//!
//! In: a SPIFFE ID per workload. Out: PEM files in the run folder (CA certificate, one cert/key
//! pair per identity) plus the DER forms for the lab's own TLS clients. Workload certificates
//! carry only a URI SAN, exactly like Istio's, so ordinary hostname verification cannot be used:
//! `verify_workload_cert` checks the CA signature and the URI SAN itself.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};

/// Why certificates could not be made, written or verified.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// rcgen refused the parameters or failed to sign.
    #[error("generating certificate for {subject}: {source}")]
    Generate {
        subject: String,
        source: rcgen::Error,
    },
    /// Writing a PEM file into the run folder failed.
    #[error("writing {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The certificate could not be parsed as X.509.
    #[error("parsing certificate: {0}")]
    Parse(String),
    /// The certificate was not signed by the lab CA.
    #[error("certificate is not signed by the lab CA: {0}")]
    Signature(String),
    /// The URI SAN is missing or names another workload.
    #[error("certificate URI SAN is {found:?}, expected `{expected}`")]
    WrongSan {
        expected: String,
        found: Vec<String>,
    },
}

/// The lab CA: signs every workload certificate of one run.
pub struct LabCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// PEM file Envoy reads as `trusted_ca`.
    pub ca_file: PathBuf,
}

/// One workload identity, on disk and in memory.
pub struct WorkloadCert {
    pub spiffe_id: String,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl WorkloadCert {
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

impl LabCa {
    /// Create the CA and write its certificate into `dir`.
    pub fn create(dir: &Path) -> Result<Self, CertError> {
        let gen = |source| CertError::Generate {
            subject: "lab CA".into(),
            source,
        };
        let key = KeyPair::generate().map_err(gen)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "meshsmith lab");
        dn.push(DnType::CommonName, "meshsmith lab root CA");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, key).map_err(gen)?;
        let ca_file = dir.join("ca.crt");
        write(&ca_file, issuer.pem().as_bytes())?;
        Ok(Self { issuer, ca_file })
    }

    pub fn der(&self) -> &CertificateDer<'static> {
        self.issuer.der()
    }

    /// Issue a workload certificate whose only SAN is `spiffe_id`, write it as `<stem>.crt` and
    /// `<stem>.key`, and check the result before anyone relies on it.
    pub fn issue(
        &self,
        dir: &Path,
        stem: &str,
        spiffe_id: &str,
    ) -> Result<WorkloadCert, CertError> {
        let gen = |source| CertError::Generate {
            subject: spiffe_id.to_string(),
            source,
        };
        let key = KeyPair::generate().map_err(gen)?;
        let mut params = CertificateParams::default();
        let uri = spiffe_id.to_string().try_into().map_err(gen)?;
        params.subject_alt_names = vec![SanType::URI(uri)];
        params.distinguished_name = DistinguishedName::new();
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.issuer).map_err(gen)?;
        let cert_file = dir.join(format!("{stem}.crt"));
        let key_file = dir.join(format!("{stem}.key"));
        write(&cert_file, cert.pem().as_bytes())?;
        write(&key_file, key.serialize_pem().as_bytes())?;
        let issued = WorkloadCert {
            spiffe_id: spiffe_id.to_string(),
            cert_file,
            key_file,
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        };
        verify_workload_cert(&issued.cert_der, self.der(), spiffe_id)?;
        Ok(issued)
    }
}

/// The URI SANs of a certificate.
pub fn uri_sans(cert_der: &[u8]) -> Result<Vec<String>, CertError> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| CertError::Parse(e.to_string()))?;
    let mut uris = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::URI(u) = name {
                uris.push((*u).to_string());
            }
        }
    }
    Ok(uris)
}

/// Accept `cert_der` only if the lab CA signed it and its URI SAN is exactly `expected`.
pub fn verify_workload_cert(
    cert_der: &[u8],
    ca_der: &[u8],
    expected: &str,
) -> Result<(), CertError> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| CertError::Parse(e.to_string()))?;
    let (_, ca) =
        x509_parser::parse_x509_certificate(ca_der).map_err(|e| CertError::Parse(e.to_string()))?;
    cert.verify_signature(Some(ca.public_key()))
        .map_err(|e| CertError::Signature(e.to_string()))?;
    let found = uri_sans(cert_der)?;
    if found.len() == 1 && found[0] == expected {
        Ok(())
    } else {
        Err(CertError::WrongSan {
            expected: expected.to_string(),
            found,
        })
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    std::fs::write(path, bytes).map_err(|source| CertError::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_cert_carries_exactly_its_spiffe_id_and_chains_to_the_ca() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = LabCa::create(dir.path()).expect("ca");
        let id = "spiffe://cluster.local/ns/shop/sa/order-service";
        let cert = ca.issue(dir.path(), "order", id).expect("issue");
        assert_eq!(
            uri_sans(&cert.cert_der).expect("sans"),
            vec![id.to_string()]
        );
        let wrong = verify_workload_cert(
            &cert.cert_der,
            ca.der(),
            "spiffe://cluster.local/ns/shop/sa/x",
        );
        assert!(matches!(wrong, Err(CertError::WrongSan { .. })));
        let other_dir = tempfile::tempdir().expect("temp dir");
        let other_ca = LabCa::create(other_dir.path()).expect("ca");
        let foreign = verify_workload_cert(&cert.cert_der, other_ca.der(), id);
        assert!(matches!(foreign, Err(CertError::Signature(_))));
    }
}
