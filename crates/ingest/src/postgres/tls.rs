//! TLS to PostgreSQL as libpq does it: `sslmode` (disable, allow, prefer — the default —,
//! require, verify-ca, verify-full) and `sslrootcert` in the connection string, or `PGSSLMODE`
//! and `PGSSLROOTCERT`, with `~/.postgresql/root.crt` as the default root file.
//!
//! The driver knows three modes and no root file, so both keys are taken out of the string
//! before it parses the rest. As in libpq, `require` (and `prefer`) check the server's
//! certificate only when a root file exists (then as `verify-ca`); `verify-ca` checks the chain
//! and `verify-full` the chain and the host name. rustls on ring: no system OpenSSL needed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// As written in a connection string.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// The driver's mode: whether TLS is tried, and whether it is required.
    pub(crate) fn driver(self) -> postgres::config::SslMode {
        match self {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                postgres::config::SslMode::Require
            }
        }
    }
}

/// The connection string without `sslmode` and `sslrootcert`, and their values.
pub(crate) struct TlsParams {
    pub rest: String,
    pub mode: Option<String>,
    pub root: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query or a key=value string.
pub(crate) fn take_params(url: &str) -> TlsParams {
    let (mut mode, mut root) = (None, None);
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            mode = Some(value);
            true
        }
        "sslrootcert" => {
            root = Some(value);
            true
        }
        _ => false,
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| {
                        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                        let v = percent_encoding::percent_decode_str(v)
                            .decode_utf8_lossy()
                            .into_owned();
                        !take(k, v)
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => url.to_string(),
        }
    } else {
        // key=value pairs; a value may be quoted ('a b', with \' inside)
        let mut kept = Vec::new();
        let mut chars = url.trim().chars().peekable();
        while chars.peek().is_some() {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let mut pair = String::new();
            let (mut key, mut value) = (String::new(), String::new());
            let mut in_value = false;
            let mut quoted = false;
            while let Some(&c) = chars.peek() {
                if !quoted && c.is_whitespace() && (in_value || !key.is_empty()) {
                    // `key = value` may have spaces around `=`
                    if in_value && !value.is_empty() {
                        break;
                    }
                    chars.next();
                    pair.push(c);
                    continue;
                }
                chars.next();
                pair.push(c);
                if !in_value && c == '=' {
                    in_value = true;
                } else if in_value && c == '\'' {
                    quoted = !quoted;
                } else if in_value && c == '\\' && quoted {
                    if let Some(n) = chars.next() {
                        pair.push(n);
                        value.push(n);
                    }
                } else if in_value {
                    value.push(c);
                } else if !c.is_whitespace() {
                    key.push(c);
                }
            }
            if !pair.trim().is_empty() && !take(key.trim(), value) {
                kept.push(pair.trim().to_string());
            }
        }
        kept.join(" ")
    };
    TlsParams { rest, mode, root }
}

/// What a connection uses: the libpq mode and the TLS client for it (none with `disable`).
pub(crate) struct Tls {
    pub mode: SslMode,
    pub client: Option<ClientConfig>,
}

/// The TLS settings from the string's values, else the environment's, else libpq's defaults.
pub(crate) fn settings(
    mode: Option<String>,
    root: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Tls, String> {
    let text = mode
        .or_else(|| env("PGSSLMODE"))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "prefer".into());
    let mode = SslMode::parse(&text).ok_or_else(|| {
        format!(
            "sslmode `{text}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
        )
    })?;
    if mode == SslMode::Disable {
        return Ok(Tls { mode, client: None });
    }
    let given = root
        .or_else(|| env("PGSSLROOTCERT"))
        .filter(|r| !r.is_empty());
    if given.as_deref() == Some("system") {
        return Err(
            "sslrootcert=system (the operating system's certificates) is not supported: give the \
             server's CA certificate file, e.g. sslrootcert=/path/to/ca.pem"
                .into(),
        );
    }
    let default = home.map(|h| h.join(".postgresql/root.crt"));
    let root_file = match (&given, default) {
        (Some(g), _) => Some(PathBuf::from(g)),
        (None, Some(d)) if d.is_file() => Some(d),
        _ => None,
    };
    let verify = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let client = match root_file {
        Some(file) => {
            let roots = read_roots(&file)?;
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("TLS setup with {}: {e}", file.display()))?;
            if mode == SslMode::VerifyFull {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                // verify-ca, and require/prefer with a root file: the chain, not the name
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
                    .with_no_client_auth()
            }
        }
        None if verify => {
            return Err(format!(
                "sslmode={text} checks the server's certificate, and there is no root certificate \
                 to check it with: give the CA file with sslrootcert=/path/to/ca.pem (or \
                 PGSSLROOTCERT), or put it at ~/.postgresql/root.crt"
            ));
        }
        // libpq's require and prefer without a root file: encrypted, the server not checked
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
            .with_no_client_auth(),
    };
    Ok(Tls {
        mode,
        client: Some(client),
    })
}

fn read_roots(file: &Path) -> Result<RootCertStore, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| {
            format!(
                "cannot read the root certificate file {}: {e}",
                file.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "the root certificate file {} holds no PEM certificate",
            file.display()
        ));
    }
    let mut roots = RootCertStore::empty();
    for c in certs {
        roots
            .add(c)
            .map_err(|e| format!("a certificate in {}: {e}", file.display()))?;
    }
    Ok(roots)
}

/// verify-ca: the chain must lead to a root of the file; the host name is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// require/prefer without a root file: any certificate (the handshake's signatures are still
/// checked, so the session is encrypted to whoever holds the certificate's key).
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_keys_are_taken_out_of_urls_and_key_value_strings() {
        let p = take_params(
            "postgresql://ann@h:5432/shop?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem",
        );
        assert_eq!(p.rest, "postgresql://ann@h:5432/shop?application_name=x");
        assert_eq!(p.mode.as_deref(), Some("verify-full"));
        assert_eq!(p.root.as_deref(), Some("/tmp/ca.pem"));
        let p = take_params("postgresql://ann@h/shop?sslmode=require");
        assert_eq!(p.rest, "postgresql://ann@h/shop");
        let p = take_params(
            "host=h user=ann sslmode=verify-ca sslrootcert='/my certs/ca.pem' dbname=shop",
        );
        assert_eq!(p.rest, "host=h user=ann dbname=shop");
        assert_eq!(p.mode.as_deref(), Some("verify-ca"));
        assert_eq!(p.root.as_deref(), Some("/my certs/ca.pem"));
        let p = take_params("postgresql://ann@h/shop");
        assert_eq!(
            (p.rest.as_str(), p.mode, p.root),
            ("postgresql://ann@h/shop", None, None)
        );
    }

    #[test]
    fn modes_follow_libpq() {
        let none = |_: &str| None;
        let t = settings(None, None, &none, None).unwrap();
        assert_eq!(t.mode, SslMode::Prefer);
        assert!(t.client.is_some());
        let t = settings(Some("disable".into()), None, &none, None).unwrap();
        assert!(t.client.is_none());
        let env = |k: &str| (k == "PGSSLMODE").then(|| "require".to_string());
        assert_eq!(
            settings(None, None, &env, None).unwrap().mode,
            SslMode::Require
        );
        let e = settings(Some("verify-full".into()), None, &none, None)
            .err()
            .unwrap();
        assert!(e.contains("sslrootcert"), "{e}");
        let e = settings(Some("always".into()), None, &none, None)
            .err()
            .unwrap();
        assert!(e.contains("not one of"), "{e}");
        let e = settings(
            Some("require".into()),
            Some("/nonexistent/ca.pem".into()),
            &none,
            None,
        )
        .err()
        .unwrap();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
