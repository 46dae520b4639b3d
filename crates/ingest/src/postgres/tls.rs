//! TLS to PostgreSQL as libpq does it: `sslmode` (disable, allow, prefer — the default —,
//! require, verify-ca, verify-full) and `sslrootcert` in the connection string, or `PGSSLMODE`
//! and `PGSSLROOTCERT`, with `~/.postgresql/root.crt` as the default root file;
//! `sslrootcert=system` for the operating system's certificates (then `verify-full`, as libpq
//! 16); a client certificate from `sslcert`/`sslkey`, `PGSSLCERT`/`PGSSLKEY` or
//! `~/.postgresql/postgresql.crt` and `.key`, for servers that authenticate by certificate.
//!
//! The driver knows three modes and no certificate files, so these keys are taken out of the
//! string before it parses the rest. As in libpq, `require` (and `prefer`) check the server's
//! certificate only when a root file exists (then as `verify-ca`); `verify-ca` checks the chain
//! and `verify-full` the chain and the host name. rustls on ring: no system OpenSSL needed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
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

/// The connection string without the TLS keys, and their values.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsParams {
    pub rest: String,
    /// `sslmode`.
    pub mode: Option<String>,
    /// `sslrootcert`.
    pub root: Option<String>,
    /// `sslcert`.
    pub cert: Option<String>,
    /// `sslkey`.
    pub key: Option<String>,
}

/// Takes `sslmode`, `sslrootcert`, `sslcert` and `sslkey` out of a URL's query or a
/// key=value string.
pub(crate) fn take_params(url: &str) -> TlsParams {
    let (mut mode, mut root, mut cert, mut key_file) = (None, None, None, None);
    let mut take = |key: &str, value: String| {
        let slot = match key {
            "sslmode" => &mut mode,
            "sslrootcert" => &mut root,
            "sslcert" => &mut cert,
            "sslkey" => &mut key_file,
            _ => return false,
        };
        *slot = Some(value);
        true
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
    TlsParams {
        rest,
        mode,
        root,
        cert,
        key: key_file,
    }
}

/// What a connection uses: the libpq mode and the TLS client for it (none with `disable`).
pub(crate) struct Tls {
    pub mode: SslMode,
    pub client: Option<ClientConfig>,
}

/// The TLS settings from the string's values, else the environment's, else libpq's defaults.
pub(crate) fn settings(
    p: &TlsParams,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Tls, String> {
    let given_mode = p
        .mode
        .clone()
        .or_else(|| env("PGSSLMODE"))
        .filter(|m| !m.is_empty());
    let given = p
        .root
        .clone()
        .or_else(|| env("PGSSLROOTCERT"))
        .filter(|r| !r.is_empty());
    let system = given.as_deref() == Some("system");
    // libpq 16: the system's roots make verify-full the default, and allow nothing weaker
    let text = given_mode.unwrap_or_else(|| if system { "verify-full" } else { "prefer" }.into());
    let mode = SslMode::parse(&text).ok_or_else(|| {
        format!(
            "sslmode `{text}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
        )
    })?;
    if system && mode != SslMode::VerifyFull {
        return Err(format!(
            "sslrootcert=system checks the server by the operating system's certificates, which \
             trust many authorities, so libpq allows it only with sslmode=verify-full: leave \
             sslmode={text} out, or give the server's CA file instead of `system`"
        ));
    }
    if mode == SslMode::Disable {
        return Ok(Tls { mode, client: None });
    }
    let default = home.map(|h| h.join(".postgresql/root.crt"));
    let roots = match (&given, default) {
        _ if system => Some(system_roots()?),
        (Some(g), _) => Some((read_roots(Path::new(g))?, PathBuf::from(g))),
        (None, Some(d)) if d.is_file() => Some((read_roots(&d)?, d)),
        _ => None,
    };
    let verify = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let builder = match roots {
        Some((roots, file)) => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("TLS setup with {}: {e}", file.display()))?;
            if mode == SslMode::VerifyFull {
                builder.with_webpki_verifier(webpki)
            } else {
                // verify-ca, and require/prefer with a root file: the chain, not the name
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
            }
        }
        None if verify => {
            return Err(format!(
                "sslmode={text} checks the server's certificate, and there is no root certificate \
                 to check it with: give the CA file with sslrootcert=/path/to/ca.pem (or \
                 PGSSLROOTCERT), put it at ~/.postgresql/root.crt, or use sslrootcert=system for \
                 a server with a certificate from a public authority"
            ));
        }
        // libpq's require and prefer without a root file: encrypted, the server not checked
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider))),
    };
    let client = match client_identity(p, env, home)? {
        Some((chain, key, file)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("the client certificate {}: {e}", file.display()))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Tls {
        mode,
        client: Some(client),
    })
}

/// The operating system's root certificates (`SSL_CERT_FILE` and `SSL_CERT_DIR` are heeded,
/// as OpenSSL does), with a name for messages.
fn system_roots() -> Result<(RootCertStore, PathBuf), String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(format!(
            "sslrootcert=system: no certificate of the operating system could be read{why}: \
             install the ca-certificates package, or give the server's CA file with \
             sslrootcert=/path/to/ca.pem"
        ));
    }
    Ok((roots, PathBuf::from("the system's certificates")))
}

/// The client certificate chain and its key, from `sslcert`/`sslkey`, else `PGSSLCERT`/
/// `PGSSLKEY`, else `~/.postgresql/postgresql.crt` and `.key` when that certificate exists.
/// A file named but missing is refused (libpq would go on without it and leave the server's
/// refusal to explain), and so is a key that others may read, as libpq refuses it.
fn client_identity(
    p: &TlsParams,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<
    Option<(
        Vec<CertificateDer<'static>>,
        PrivateKeyDer<'static>,
        PathBuf,
    )>,
    String,
> {
    let named = |v: &Option<String>, var: &str| {
        v.clone()
            .or_else(|| env(var))
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
    };
    let dir = home.map(|h| h.join(".postgresql"));
    let cert = match named(&p.cert, "PGSSLCERT") {
        Some(c) if !c.is_file() => {
            return Err(format!(
                "the client certificate file {} does not exist: give the right path with \
                 sslcert= (or PGSSLCERT)",
                c.display()
            ));
        }
        Some(c) => c,
        None => match dir.as_ref().map(|d| d.join("postgresql.crt")) {
            Some(d) if d.is_file() => d,
            _ => return Ok(None),
        },
    };
    let key = named(&p.key, "PGSSLKEY")
        .or_else(|| dir.map(|d| d.join("postgresql.key")))
        .ok_or_else(|| {
            format!(
                "the client certificate {} needs its private key: give it with sslkey= (or \
                 PGSSLKEY)",
                cert.display()
            )
        })?;
    if !key.is_file() {
        return Err(format!(
            "the private key file {} of the client certificate does not exist: give it with \
             sslkey= (or PGSSLKEY)",
            key.display()
        ));
    }
    if key_readable_by_others(&key) {
        return Err(format!(
            "the private key file {} may be read by other users: make it yours alone with \
             chmod 600 {} (libpq refuses such a key too)",
            key.display(),
            key.display()
        ));
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("cannot read the client certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "the client certificate file {} holds no PEM certificate",
            cert.display()
        ));
    }
    let private = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    Ok(Some((chain, private, cert)))
}

/// True when group or others may read `file`: libpq refuses such a key (a root-owned key
/// readable by its group is allowed, for keys managed by the system).
#[cfg(unix)]
fn key_readable_by_others(file: &Path) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::metadata(file).is_ok_and(|m| {
        let mode = m.permissions().mode();
        if m.uid() == 0 {
            mode & 0o037 != 0
        } else {
            mode & 0o077 != 0
        }
    })
}

#[cfg(not(unix))]
fn key_readable_by_others(_: &Path) -> bool {
    false
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
        let p = take_params("postgresql://ann@h/shop?sslcert=%2Fk%2Fc.crt&sslkey=%2Fk%2Fc.key&x=1");
        assert_eq!(p.rest, "postgresql://ann@h/shop?x=1");
        assert_eq!(
            (p.cert.as_deref(), p.key.as_deref()),
            (Some("/k/c.crt"), Some("/k/c.key"))
        );
        let p = take_params("host=h sslcert='/my certs/c.crt' sslkey=/k/c.key dbname=shop");
        assert_eq!(p.rest, "host=h dbname=shop");
        assert_eq!(p.cert.as_deref(), Some("/my certs/c.crt"));
    }

    /// The keys of a connection string as [`take_params`] gives them.
    fn keys(mode: Option<&str>, root: Option<&str>) -> TlsParams {
        TlsParams {
            mode: mode.map(str::to_string),
            root: root.map(str::to_string),
            ..TlsParams::default()
        }
    }

    #[test]
    fn modes_follow_libpq() {
        let none = |_: &str| None;
        let t = settings(&keys(None, None), &none, None).unwrap();
        assert_eq!(t.mode, SslMode::Prefer);
        assert!(t.client.is_some());
        let t = settings(&keys(Some("disable"), None), &none, None).unwrap();
        assert!(t.client.is_none());
        let env = |k: &str| (k == "PGSSLMODE").then(|| "require".to_string());
        assert_eq!(
            settings(&keys(None, None), &env, None).unwrap().mode,
            SslMode::Require
        );
        let e = settings(&keys(Some("verify-full"), None), &none, None)
            .err()
            .unwrap();
        assert!(e.contains("sslrootcert"), "{e}");
        let e = settings(&keys(Some("always"), None), &none, None)
            .err()
            .unwrap();
        assert!(e.contains("not one of"), "{e}");
        let e = settings(
            &keys(Some("require"), Some("/nonexistent/ca.pem")),
            &none,
            None,
        )
        .err()
        .unwrap();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }

    /// `sslrootcert=system` makes verify-full the mode and refuses a weaker one, as libpq 16.
    #[test]
    fn system_roots_ask_for_verify_full() {
        let none = |_: &str| None;
        let e = settings(&keys(Some("require"), Some("system")), &none, None)
            .err()
            .unwrap();
        assert!(e.contains("only with sslmode=verify-full"), "{e}");
        let env = |k: &str| (k == "PGSSLROOTCERT").then(|| "system".to_string());
        let e = settings(&keys(Some("verify-ca"), None), &env, None)
            .err()
            .unwrap();
        assert!(e.contains("sslrootcert=system"), "{e}");
        // no mode given: verify-full (when the system has certificates to read)
        if let Ok(t) = settings(&keys(None, Some("system")), &none, None) {
            assert_eq!(t.mode, SslMode::VerifyFull);
        }
    }

    /// A client certificate named but missing, a key missing or readable by others, and a file
    /// without a certificate are each refused, naming the file and the fix; without any, the
    /// default files are used only when they exist.
    #[test]
    fn client_certificates_are_checked_before_connecting() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let none = |_: &str| None;
        let with = |cert: &str, key: Option<&str>| TlsParams {
            mode: Some("require".into()),
            cert: Some(d.join(cert).to_string_lossy().into_owned()),
            key: key.map(|k| d.join(k).to_string_lossy().into_owned()),
            ..TlsParams::default()
        };
        let e = settings(&with("nope.crt", None), &none, Some(d))
            .err()
            .unwrap();
        assert!(
            e.contains("nope.crt") && e.contains("does not exist"),
            "{e}"
        );
        std::fs::write(d.join("c.crt"), "not a certificate").unwrap();
        let e = settings(&with("c.crt", Some("c.key")), &none, Some(d))
            .err()
            .unwrap();
        assert!(e.contains("c.key") && e.contains("does not exist"), "{e}");
        std::fs::write(d.join("c.key"), "not a key").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let key = d.join("c.key");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = settings(&with("c.crt", Some("c.key")), &none, Some(d))
                .err()
                .unwrap();
            assert!(e.contains("chmod 600"), "{e}");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let e = settings(&with("c.crt", Some("c.key")), &none, Some(d))
            .err()
            .unwrap();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        // nothing named and no ~/.postgresql/postgresql.crt: no client certificate
        let t = settings(&keys(Some("require"), None), &none, Some(d)).unwrap();
        assert!(t.client.is_some());
    }
}
