//! The cluster's certificate authority and the API server's serving certificate.
//!
//! Generated at first start under the data dir (`pki/ca.crt`, `pki/ca.key`,
//! `pki/apiserver.crt`, `pki/apiserver.key`) and reused afterwards; the serving certificate is
//! re-issued when the wanted subject alternative names change.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// PKI errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// File I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Certificate generation.
    #[error("certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// TLS configuration.
    #[error("tls: {0}")]
    Tls(String),
}

/// PEM material for serving and for kubeconfigs.
#[derive(Debug, Clone)]
pub struct Pki {
    /// CA certificate (PEM), written into kubeconfigs as `certificate-authority-data`.
    pub ca_pem: String,
    /// Serving certificate chain (PEM).
    pub cert_pem: String,
    /// Serving key (PEM).
    pub key_pem: String,
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "tether-ca");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2124, 1, 1);
    p
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn write(path: &Path, data: &str) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(path, data).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(())
}

impl Pki {
    /// Loads or creates the CA and a serving certificate valid for `sans` (IPs or DNS names).
    pub fn load_or_create(dir: &Path, sans: &[String]) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let ca_crt = dir.join("ca.crt");
        let ca_key = dir.join("ca.key");
        let (ca_pem, ca_key_pem) = match (read(&ca_crt), read(&ca_key)) {
            (Some(c), Some(k)) => (c, k),
            _ => {
                let key = KeyPair::generate()?;
                let cert = ca_params().self_signed(&key)?;
                let (c, k) = (cert.pem(), key.serialize_pem());
                write(&ca_key, &k)?;
                write(&ca_crt, &c)?;
                (c, k)
            }
        };
        let srv_crt = dir.join("apiserver.crt");
        let srv_key = dir.join("apiserver.key");
        let sans_file = dir.join("apiserver.sans");
        let wanted = sans.join(",");
        if let (Some(c), Some(k), Some(s)) = (read(&srv_crt), read(&srv_key), read(&sans_file))
            && s == wanted
        {
            return Ok(Self {
                ca_pem,
                cert_pem: c,
                key_pem: k,
            });
        }
        let ca_key = KeyPair::from_pem(&ca_key_pem)?;
        let issuer = Issuer::new(ca_params(), ca_key);
        let mut params = CertificateParams::new(sans.to_vec())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "kube-apiserver");
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2124, 1, 1);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        let (c, k) = (cert.pem(), key.serialize_pem());
        write(&srv_key, &k)?;
        write(&srv_crt, &c)?;
        write(&sans_file, &wanted)?;
        Ok(Self {
            ca_pem,
            cert_pem: c,
            key_pem: k,
        })
    }

    /// The subject alternative names a server listening on `listen` should carry: loopback,
    /// `localhost`, the `kubernetes` Service names and address, and the listen address.
    pub fn default_sans(listen: IpAddr, service_ip: IpAddr, extra: &[String]) -> Vec<String> {
        let mut sans = vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
            "kubernetes".to_owned(),
            "kubernetes.default".to_owned(),
            "kubernetes.default.svc".to_owned(),
            "kubernetes.default.svc.cluster.local".to_owned(),
            service_ip.to_string(),
        ];
        if !listen.is_unspecified() {
            sans.push(listen.to_string());
        }
        for e in extra {
            if !sans.contains(e) {
                sans.push(e.clone());
            }
        }
        sans.dedup();
        sans
    }

    /// A rustls server configuration offering HTTP/2 and HTTP/1.1.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, Error> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| Error::Tls(e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| Error::Tls(e.to_string()))?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| Error::Tls(e.to_string()))?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(cfg)
    }
}
