//! Reseeding end to end with su3 files signed by throwaway RSA keys.
//!
//! Keys, certificates and signatures come from the `openssl` command line tool, an
//! implementation independent of ours: `openssl req -x509 -newkey rsa:4096` makes a
//! self-signed certificate, and `openssl pkeyutl -sign` (no digest option) makes the
//! raw PKCS#1 v1.5 signature over the SHA-512 digest that updates.rst describes.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gousse_reseed::{
    fetch_source, reseed, router_infos_from_zip, Error, HttpOptions, Limits, ReseedOptions,
    SkipReason, Source,
};
use i2p_wire::su3::{encode_signed_part, ContentType, FileType, SigType, Su3Fields};
use zip::write::SimpleFileOptions;

const SIGNER: &str = "test@mail.i2p";

/// A throwaway signer: a key and a certificate directory holding `<id>.crt`.
struct Signer {
    _dir: tempfile::TempDir,
    key: PathBuf,
    cert_dir: PathBuf,
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_signer(id: &str, bits: u32) -> Signer {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let cert_dir = dir.path().join("certs");
    std::fs::create_dir(&cert_dir).unwrap();
    let cert = cert_dir.join(gousse_reseed::signer_file_name(id));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        &format!("rsa:{bits}"),
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-days",
        "3650",
        "-subj",
        &format!("/CN={id}"),
    ]);
    Signer {
        _dir: dir,
        key,
        cert_dir,
    }
}

/// RSA-4096, made once for all tests (key generation takes a moment).
fn signer_4096() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| make_signer(SIGNER, 4096))
}

impl Signer {
    fn sign_raw(&self, digest: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let (d, s) = (dir.path().join("digest"), dir.path().join("sig"));
        std::fs::write(&d, digest).unwrap();
        openssl(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            self.key.to_str().unwrap(),
            "-in",
            d.to_str().unwrap(),
            "-out",
            s.to_str().unwrap(),
        ]);
        std::fs::read(s).unwrap()
    }

    fn su3(&self, fields: &Su3Fields<'_>, content: &[u8]) -> Vec<u8> {
        let mut file = encode_signed_part(fields, content).unwrap();
        let digest = match fields.sig_type {
            SigType::RSA_SHA512_4096 => i2p_crypto::hash::sha512(&file).to_vec(),
            _ => i2p_crypto::hash::sha256(&file).to_vec(),
        };
        file.extend(self.sign_raw(&digest));
        file
    }

    fn options(&self) -> ReseedOptions {
        ReseedOptions::default()
            .with_certificate_dir(&self.cert_dir)
            .unwrap()
    }
}

fn reseed_fields() -> Su3Fields<'static> {
    Su3Fields {
        sig_type: SigType::RSA_SHA512_4096,
        file_type: FileType::ZIP,
        content_type: ContentType::RESEED,
        version: "1764115200",
        signer_id: SIGNER,
    }
}

/// A valid RouterInfo file name for hash byte `n`.
fn ri_name(n: u8) -> String {
    let c = (b'A' + n % 26) as char;
    format!("routerInfo-{}=.dat", c.to_string().repeat(43))
}

fn ri_bytes(n: u8) -> Vec<u8> {
    format!("routerinfo number {n}").into_bytes()
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Three RouterInfos, one entry with a bad name and one too large.
fn reseed_zip() -> Vec<u8> {
    let (a, b, c) = (ri_name(0), ri_name(1), ri_name(2));
    zip_of(&[
        (&a, ri_bytes(0)),
        (&b, ri_bytes(1)),
        ("README.txt", b"hello".to_vec()),
        (&c, ri_bytes(2)),
        (&ri_name(3), vec![7u8; 16 * 1024 + 1]),
    ])
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn su3_error(bytes: &[u8], opts: &ReseedOptions) -> Error {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "i2pseeds.su3", bytes);
    fetch_source(&Source::Su3File(p), opts).unwrap_err()
}

#[test]
fn signed_su3_is_accepted_and_its_entries_filtered() {
    let s = signer_4096();
    let file = s.su3(&reseed_fields(), &reseed_zip());
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "i2pseeds.su3", &file);
    let r = reseed(&[Source::Su3File(p)], &s.options(), usize::MAX);
    assert_eq!(r.router_infos, vec![ri_bytes(0), ri_bytes(1), ri_bytes(2)]);
    let rep = &r.reports[0];
    assert!(rep.error.is_none(), "{:?}", rep.error);
    assert_eq!(rep.signer.as_deref(), Some(SIGNER));
    assert_eq!(rep.taken, 3);
    assert_eq!(rep.skipped.len(), 2);
    assert_eq!(rep.skipped[0].name, "README.txt");
    assert_eq!(rep.skipped[0].reason, SkipReason::BadName);
    assert_eq!(rep.skipped[1].name, ri_name(3));
    assert_eq!(rep.skipped[1].reason, SkipReason::TooLarge(16 * 1024 + 1));
}

#[test]
fn tampered_su3_is_refused_as_bad_signature() {
    let s = signer_4096();
    let file = s.su3(&reseed_fields(), &reseed_zip());
    let content_at = 40 + 16 + SIGNER.len() + 10;
    for (what, at) in [
        ("content", content_at),
        ("signature", file.len() - 100),
        ("version", 41),
    ] {
        let mut f = file.clone();
        f[at] ^= 1;
        let e = su3_error(&f, &s.options());
        assert!(matches!(e, Error::BadSignature { .. }), "{what}: {e}");
        assert_eq!(
            e.to_string(),
            "bad su3 signature: the signature does not verify with \"test@mail.i2p\"'s certificate"
        );
    }
}

#[test]
fn unknown_signer_is_refused() {
    let s = signer_4096();
    let file = s.su3(&reseed_fields(), &reseed_zip());
    // Only the real network's signers: ours is unknown.
    let e = su3_error(&file, &ReseedOptions::default());
    assert_eq!(
        e.to_string(),
        "unknown su3 signer \"test@mail.i2p\": no certificate test_at_mail.i2p.crt"
    );
    // A file naming a real signer but signed by us does not verify.
    let mut fields = reseed_fields();
    fields.signer_id = "acetone@mail.i2p";
    let forged = s.su3(&fields, &reseed_zip());
    let e = su3_error(&forged, &ReseedOptions::default());
    assert!(e.to_string().starts_with("bad su3 signature"), "{e}");
}

#[test]
fn wrong_content_or_file_type_is_refused() {
    let s = signer_4096();
    let mut fields = reseed_fields();
    fields.content_type = ContentType::ROUTER_UPDATE;
    let e = su3_error(&s.su3(&fields, &reseed_zip()), &s.options());
    assert_eq!(
        e.to_string(),
        "wrong su3 content type 1: a reseed file has content type 3 (reseed data)"
    );
    let mut fields = reseed_fields();
    fields.file_type = FileType::XML_GZ;
    let e = su3_error(&s.su3(&fields, &reseed_zip()), &s.options());
    assert_eq!(
        e.to_string(),
        "wrong su3 file type 3: a reseed file has file type 0 (zip)"
    );
}

#[test]
fn malformed_su3_is_refused() {
    let s = signer_4096();
    let file = s.su3(&reseed_fields(), &reseed_zip());
    let e = su3_error(&file[..file.len() - 1], &s.options());
    assert!(matches!(e, Error::MalformedSu3(_)), "{e}");
    assert!(
        e.to_string()
            .starts_with("malformed su3 file: su3 file truncated: signature needs"),
        "{e}"
    );
    let e = su3_error(b"GIF89a", &s.options());
    assert_eq!(
        e.to_string(),
        "malformed su3 file: su3 file truncated: header needs 40 bytes, the file has 6"
    );
    // A signed file whose content is not a zip.
    let e = su3_error(&s.su3(&reseed_fields(), b"not a zip"), &s.options());
    assert!(e.to_string().starts_with("malformed zip archive"), "{e}");
}

#[test]
fn rsa_2048_sha256_signer_is_accepted_and_key_size_checked() {
    let s = make_signer("small@mail.i2p", 2048);
    let mut fields = reseed_fields();
    fields.sig_type = SigType::RSA_SHA256_2048;
    fields.signer_id = "small@mail.i2p";
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "i2pseeds.su3", &s.su3(&fields, &reseed_zip()));
    let (_, out) = fetch_source(&Source::Su3File(p), &s.options()).unwrap();
    assert_eq!(out.router_infos.len(), 3);
    // The same signer claiming RSA-SHA512-4096: its key is too small.
    fields.sig_type = SigType::RSA_SHA512_4096;
    let mut file = encode_signed_part(&fields, &reseed_zip()).unwrap();
    file.extend([0u8; 512]);
    let e = su3_error(&file, &s.options());
    assert_eq!(
        e.to_string(),
        "signer certificate small_at_mail.i2p.crt has a 256-byte RSA key but su3 \
         signature type 6 needs 512 bytes"
    );
    // ECDSA is not accepted for reseed files.
    fields.sig_type = SigType::ECDSA_SHA256_P256;
    let mut file = encode_signed_part(&fields, &reseed_zip()).unwrap();
    file.extend([0u8; 64]);
    let e = su3_error(&file, &s.options());
    assert!(
        e.to_string()
            .starts_with("unsupported su3 signature type 1"),
        "{e}"
    );
}

#[test]
fn zip_and_directory_sources() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_file(dir.path(), "netDb.zip", &reseed_zip());
    let ri_dir = dir.path().join("netDb");
    std::fs::create_dir(&ri_dir).unwrap();
    write_file(&ri_dir, &ri_name(1), &ri_bytes(1)); // also in the zip
    write_file(&ri_dir, &ri_name(5), &ri_bytes(5));
    write_file(&ri_dir, &ri_name(6), &vec![0u8; 20_000]);
    write_file(&ri_dir, "routerInfo-short.dat", b"x");
    std::fs::create_dir(ri_dir.join(ri_name(7))).unwrap();
    let opts = ReseedOptions::default();
    let r = reseed(
        &[Source::Zip(zip), Source::Dir(ri_dir.clone())],
        &opts,
        usize::MAX,
    );
    assert_eq!(
        r.router_infos,
        vec![ri_bytes(0), ri_bytes(1), ri_bytes(2), ri_bytes(5)]
    );
    let (z, d) = (&r.reports[0], &r.reports[1]);
    assert_eq!((z.taken, z.duplicates, z.skipped.len()), (3, 0, 2));
    assert_eq!((d.taken, d.duplicates), (1, 1));
    let mut reasons: Vec<_> = d
        .skipped
        .iter()
        .map(|s| (s.name.clone(), s.reason.clone()))
        .collect();
    reasons.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (ri_name(6), SkipReason::TooLarge(20_000)),
        ("routerInfo-short.dat".to_owned(), SkipReason::BadName),
        (ri_name(7), SkipReason::NotAFile),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(reasons, expected);

    // `want` stops after the first source that gives enough.
    let r = reseed(
        &[
            Source::Dir(ri_dir),
            Source::Url("https://unused.invalid/".into()),
        ],
        &opts,
        1,
    );
    assert_eq!(r.reports.len(), 1);

    // A missing source is reported and the next one used.
    let r = reseed(
        &[
            Source::Su3File(dir.path().join("missing.su3")),
            Source::Zip(dir.path().join("netDb.zip")),
        ],
        &opts,
        usize::MAX,
    );
    assert!(r.reports[0]
        .error
        .as_ref()
        .unwrap()
        .to_string()
        .starts_with("cannot read"));
    assert_eq!(r.router_infos.len(), 3);
}

#[test]
fn too_many_entries_or_too_large_a_file_is_refused() {
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let e = router_infos_from_zip(&reseed_zip(), &limits).unwrap_err();
    assert_eq!(
        e.to_string(),
        "zip archive has 5 entries, more than the limit of 3"
    );
    // A deflate bomb declaring a small size is cut at the limit while decompressing.
    let name = ri_name(9);
    let mut bomb = zip_of(&[(&name, vec![0u8; 1_000_000])]);
    let small = Limits {
        max_router_info_size: 1000,
        ..Limits::default()
    };
    // Patch the declared uncompressed size (local header at 22, central at 24).
    let patch = |z: &mut Vec<u8>, sig: &[u8], off: usize| {
        let at = z.windows(4).position(|w| w == sig).unwrap() + off;
        z[at..at + 4].copy_from_slice(&10u32.to_le_bytes());
    };
    patch(&mut bomb, b"PK\x03\x04", 22);
    patch(&mut bomb, b"PK\x01\x02", 24);
    let out = router_infos_from_zip(&bomb, &small).unwrap();
    assert!(out.router_infos.is_empty());
    // Cut after max + 1 bytes: the declared size is not trusted.
    assert_eq!(out.skipped[0].reason, SkipReason::TooLarge(1001));

    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "big.zip", &vec![0u8; 2000]);
    let opts = ReseedOptions {
        limits: Limits {
            max_file_size: 1000,
            ..Limits::default()
        },
        ..ReseedOptions::default()
    };
    let e = fetch_source(&Source::Zip(p), &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("big.zip is larger than the limit of 1000 bytes"),
        "{e}"
    );
}

/// A one-connection HTTP server on the loopback: returns its base URL and a handle
/// giving the request head it read.
fn serve_once(response: Vec<u8>) -> (String, std::thread::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && c.read(&mut b).unwrap() == 1 {
            head.push(b[0]);
        }
        let _ = c.write_all(&response);
        String::from_utf8_lossy(&head).into_owned()
    });
    (url, h)
}

fn plain_http(opts: ReseedOptions) -> ReseedOptions {
    ReseedOptions {
        http: HttpOptions {
            allow_plain_http: true,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
            ..HttpOptions::default()
        },
        ..opts
    }
}

#[test]
fn url_source_over_local_http() {
    let s = signer_4096();
    let file = s.su3(&reseed_fields(), &reseed_zip());
    let mut resp =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", file.len()).into_bytes();
    resp.extend(&file);
    let (url, h) = serve_once(resp);
    let r = reseed(&[Source::Url(url)], &plain_http(s.options()), usize::MAX);
    assert!(r.reports[0].error.is_none(), "{:?}", r.reports[0].error);
    assert_eq!(r.router_infos.len(), 3);
    let head = h.join().unwrap();
    assert!(
        head.starts_with("GET /i2pseeds.su3?netid=2 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains("User-Agent: Wget/1.11.4\r\n"), "{head}");

    // Plain http is refused unless allowed.
    let e = fetch_source(&Source::Url("http://127.0.0.1:9/".into()), &s.options())
        .unwrap_err()
        .to_string();
    assert!(e.contains("plain http is not allowed"), "{e}");
}

#[test]
fn url_source_status_size_and_timeout() {
    let opts = plain_http(ReseedOptions::default());
    let (url, h) = serve_once(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec());
    let e = fetch_source(&Source::Url(url.clone()), &opts).unwrap_err();
    h.join().unwrap();
    assert_eq!(
        e.to_string(),
        format!("reseed server {url}i2pseeds.su3?netid=2 answered HTTP status 404")
    );

    let small = ReseedOptions {
        limits: Limits {
            max_file_size: 1000,
            ..Limits::default()
        },
        ..opts.clone()
    };
    // Declared too large.
    let (url, h) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n".to_vec());
    let e = fetch_source(&Source::Url(url), &small).unwrap_err();
    h.join().unwrap();
    assert!(
        matches!(e, Error::ResponseTooLarge { max: 1000, .. }),
        "{e}"
    );
    // Too large without a Content-Length: cut while reading.
    let mut resp = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    resp.extend(vec![b'x'; 5000]);
    let (url, h) = serve_once(resp);
    let e = fetch_source(&Source::Url(url), &small).unwrap_err();
    h.join().unwrap();
    assert!(
        matches!(e, Error::ResponseTooLarge { max: 1000, .. }),
        "{e}"
    );

    // A server that never answers: the deadline ends the request.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", silent.local_addr().unwrap());
    let quick = ReseedOptions {
        http: HttpOptions {
            timeout: Duration::from_millis(500),
            ..opts.http.clone()
        },
        ..opts
    };
    let t = Instant::now();
    let e = fetch_source(&Source::Url(url), &quick).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(matches!(e, Error::Http { .. }), "{e}");
    assert!(e.to_string().contains("timed out"), "{e}");
}

/// HTTPS is verified: a loopback TLS server (openssl s_server) with a self-signed
/// certificate is refused. (A TLS server trusted by the webpki roots cannot run here,
/// so the success path over HTTPS is the same code as the plain HTTP tests above.)
#[test]
fn https_with_untrusted_certificate_is_refused() {
    let s = signer_4096();
    let cert = s.cert_dir.join("test_at_mail.i2p.crt");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            s.key.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "s_server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let opts = ReseedOptions {
        http: HttpOptions {
            timeout: Duration::from_secs(5),
            ..HttpOptions::default()
        },
        ..ReseedOptions::default()
    };
    let res = fetch_source(&Source::Url(format!("https://127.0.0.1:{port}/")), &opts);
    server.kill().unwrap();
    server.wait().unwrap();
    let e = res.unwrap_err();
    assert!(matches!(e, Error::Http { .. }), "{e}");
    // rustls names the cause (here the self-signed certificate is a CA used as an
    // end entity; with any other self-signed one, UnknownIssuer).
    assert!(
        e.to_string()
            .contains(": Connection Failed: tls connection init failed: invalid peer certificate"),
        "{e}"
    );
}
