//! HTTPS (feature `tls`): a rustls server configuration (ring, TLS 1.2 and
//! 1.3, HTTP/1.1 over ALPN) from PEM files, as `firstlog serve --tls-cert
//! --tls-key` reads them.

use std::sync::Arc;

use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS configuration from a PEM certificate chain (the server's certificate
/// first) and a PEM private key (PKCS #8, PKCS #1 or SEC1). The error says what
/// is wrong, for a person.
pub fn tls_config_from_pem(
    certificate_chain: &[u8],
    private_key: &[u8],
) -> Result<Arc<ServerConfig>, String> {
    let chain = CertificateDer::pem_slice_iter(certificate_chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate file is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err("the certificate file holds no CERTIFICATE block".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(private_key)
        .map_err(|e| format!("the key file holds no usable PEM private key: {e}"))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not go together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
