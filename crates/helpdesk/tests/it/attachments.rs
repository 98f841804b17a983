//! Attachments: accepted and refused files as a table, safe names, and how files are served.

use helpdesk::attachments::{
    check, content_disposition, response_headers, safe_filename, Accepted, AttachmentError, Kind,
    Policy, Refused, FILENAME_BYTES_MAX,
};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0";
const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8 ";
const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
const MZ: &[u8] = b"MZ\x90\0\x03\0\0\0";

/// A file name, its declared type, its bytes, and what `check` says.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a [u8],
    Result<Accepted, AttachmentError>,
);

fn accepted(kind: Kind, name: &str) -> Result<Accepted, AttachmentError> {
    Ok(Accepted {
        kind,
        safe_filename: name.to_owned(),
        content_type: kind.content_type(),
    })
}

fn not_allowed(detected: Refused) -> Result<Accepted, AttachmentError> {
    Err(AttachmentError::NotAllowed { detected })
}

fn mismatch(kind: Kind, extension: &str) -> Result<Accepted, AttachmentError> {
    Err(AttachmentError::ExtensionMismatch {
        kind,
        extension: extension.to_owned(),
    })
}

#[test]
fn checks() {
    let mut tar = vec![b'a'; 300];
    tar[257..262].copy_from_slice(b"ustar");
    let long_latin = format!("{}.pdf", "a".repeat(300));
    let long_chinese = format!("{}.png", "发票".repeat(150));
    let svg = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    let cases: Vec<Case> = vec![
        (
            "screenshot.png",
            "image/png",
            PNG,
            accepted(Kind::Png, "screenshot.png"),
        ),
        // The declared type is never trusted to accept, nor to decide the kind.
        (
            "screenshot.png",
            "application/octet-stream",
            PNG,
            accepted(Kind::Png, "screenshot.png"),
        ),
        (
            "IMG_0001.JPG",
            "image/png",
            JPEG,
            accepted(Kind::Jpeg, "IMG_0001.JPG"),
        ),
        ("photo.jpeg", "", JPEG, accepted(Kind::Jpeg, "photo.jpeg")),
        (
            "funny.gif",
            "image/gif",
            GIF,
            accepted(Kind::Gif, "funny.gif"),
        ),
        (
            "pic.webp",
            "image/webp",
            WEBP,
            accepted(Kind::Webp, "pic.webp"),
        ),
        (
            "发票.pdf",
            "application/pdf",
            PDF,
            accepted(Kind::Pdf, "发票.pdf"),
        ),
        (
            "notes.txt",
            "text/plain",
            "提现没到账\n".as_bytes(),
            accepted(Kind::Text, "notes.txt"),
        ),
        (
            "bom.log",
            "text/plain",
            b"\xef\xbb\xbfhello",
            accepted(Kind::Text, "bom.log"),
        ),
        (
            "report.csv",
            "application/vnd.ms-excel",
            b"date,amount\n2026-01-01,5\n",
            accepted(Kind::Csv, "report.csv"),
        ),
        ("screenshot", "", PNG, accepted(Kind::Png, "screenshot.png")),
        (
            "../../etc/passwd",
            "text/plain",
            b"root:x:0:0:root:/root:/bin/bash\n",
            accepted(Kind::Text, "passwd.txt"),
        ),
        // Refused by what the bytes are, whatever the name says.
        (
            "cat.png",
            "image/png",
            b"<!DOCTYPE html><html><body>hi</body></html>",
            not_allowed(Refused::Html),
        ),
        (
            "page.txt",
            "text/plain",
            b"  <p>hello</p>",
            not_allowed(Refused::Html),
        ),
        (
            "notes.txt",
            "text/plain",
            b"see this\n<script>alert(1)</script>",
            not_allowed(Refused::Html),
        ),
        ("logo.svg", "image/svg+xml", svg, not_allowed(Refused::Svg)),
        ("logo.png", "image/png", svg, not_allowed(Refused::Svg)),
        (
            "data.xml",
            "text/xml",
            b"<?xml version=\"1.0\"?><a/>",
            not_allowed(Refused::Xml),
        ),
        (
            "run.txt",
            "text/plain",
            b"#!/bin/sh\nrm -rf /\n",
            not_allowed(Refused::Script),
        ),
        (
            "setup.exe",
            "application/octet-stream",
            MZ,
            not_allowed(Refused::Executable),
        ),
        (
            "invoice\u{202E}gpj.exe",
            "image/jpeg",
            MZ,
            not_allowed(Refused::Executable),
        ),
        (
            "tool",
            "",
            b"\x7fELF\x02\x01\x01",
            not_allowed(Refused::Executable),
        ),
        (
            "docs.zip",
            "application/zip",
            b"PK\x03\x04\x14\0",
            not_allowed(Refused::Archive),
        ),
        (
            "letter.docx",
            "application/octet-stream",
            b"PK\x03\x04\x14\0\x06\0",
            not_allowed(Refused::Archive),
        ),
        (
            "logs.tar.gz",
            "",
            b"\x1f\x8b\x08\0",
            not_allowed(Refused::Archive),
        ),
        ("logs.tar", "", &tar, not_allowed(Refused::Archive)),
        (
            "old.doc",
            "",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            not_allowed(Refused::OleDocument),
        ),
        // The declared type can only refuse.
        (
            "hello.txt",
            "text/html; charset=utf-8",
            b"hello",
            Err(AttachmentError::DeclaredNotAllowed {
                declared: Refused::Html,
            }),
        ),
        // Text that is not text.
        (
            "notes.txt",
            "text/plain",
            b"abc\0def",
            Err(AttachmentError::TextHasNul),
        ),
        (
            "notes.csv",
            "text/csv",
            b"caf\xe9",
            Err(AttachmentError::TextNotUtf8),
        ),
        (
            "blob.bin",
            "",
            b"abc\0def",
            Err(AttachmentError::Unrecognized),
        ),
        (
            "blob",
            "",
            b"\xff\xfe\x00\x01",
            Err(AttachmentError::Unrecognized),
        ),
        // A real kind under another kind's name is refused, not renamed.
        ("photo.exe", "image/png", PNG, mismatch(Kind::Png, "exe")),
        (
            "invoice\u{202E}gpj.exe",
            "image/jpeg",
            JPEG,
            mismatch(Kind::Jpeg, "exe"),
        ),
        ("photo.jpg", "image/jpeg", PNG, mismatch(Kind::Png, "jpg")),
        (
            "report.pdf.txt",
            "text/plain",
            PDF,
            mismatch(Kind::Pdf, "txt"),
        ),
        (
            "script.js",
            "text/plain",
            b"console.log(1)",
            mismatch(Kind::Text, "js"),
        ),
        (
            &long_latin,
            "application/pdf",
            PDF,
            accepted(
                Kind::Pdf,
                &format!("{}.pdf", "a".repeat(FILENAME_BYTES_MAX - 4)),
            ),
        ),
        (
            &long_chinese,
            "image/png",
            PNG,
            accepted(Kind::Png, &format!("{}.png", "发票".repeat(24))),
        ),
    ];
    for (name, declared, bytes, expected) in cases {
        let got = check(name, declared, bytes, bytes.len() as u64);
        assert_eq!(got, expected, "{name:?} {declared:?}");
        if let Err(e) = &got {
            assert!(!e.code().is_empty());
        }
    }
}

#[test]
fn error_codes_and_messages_name_the_reason() {
    let cases: &[(Result<Accepted, AttachmentError>, &str, &str)] = &[
        (check("a.png", "", PNG, 0), "empty", "the file is empty"),
        (
            check("a.png", "", PNG, 10 * 1024 * 1024 + 1),
            "too_large",
            "the file has 10485761 bytes, more than the limit of 10485760",
        ),
        (
            check("a.png", "", b"<html>", 6),
            "not_allowed",
            "html files are not allowed",
        ),
        (
            check("a.exe", "", PNG, 100),
            "extension_mismatch",
            "the file is a png file but its name ends in .exe",
        ),
    ];
    for (got, code, message) in cases {
        let error = got.as_ref().unwrap_err();
        assert_eq!(
            (error.code(), error.to_string().as_str()),
            (*code, *message)
        );
    }
}

#[test]
fn size_limit_is_the_policys() {
    let policy = Policy {
        size_max_bytes: 1000,
    };
    assert!(policy.check("a.png", "", PNG, 1000).is_ok());
    assert_eq!(
        policy.check("a.png", "", PNG, 1001),
        Err(AttachmentError::TooLarge {
            size_bytes: 1001,
            size_max_bytes: 1000
        })
    );
    assert!(check("a.png", "", PNG, 10 * 1024 * 1024).is_ok());
    // Empty wins over everything else.
    assert_eq!(
        check("a.exe", "text/html", MZ, 0),
        Err(AttachmentError::Empty)
    );
}

#[test]
fn a_prefix_may_end_inside_a_character() {
    let text = "提现".as_bytes();
    let cut = &text[..4];
    assert!(check("a.txt", "", cut, 100).is_ok());
    assert_eq!(
        check("a.txt", "", cut, cut.len() as u64),
        Err(AttachmentError::TextNotUtf8)
    );
}

#[test]
fn safe_filenames() {
    let cases: &[(&str, &str)] = &[
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\bob\\report.pdf", "report.pdf"),
        (".htaccess", "htaccess"),
        ("...hidden.txt", "hidden.txt"),
        ("invoice\u{202E}gpj.exe", "invoicegpj.exe"),
        ("a\u{2066}b\u{2069}\u{200B}c.png", "abc.png"),
        ("a\r\nb\t.txt", "ab.txt"),
        ("发票 2024年.pdf", "发票 2024年.pdf"),
        ("what?<x>.txt", "what__x_.txt"),
        ("CON.txt", "_CON.txt"),
        ("com1", "_com1"),
        ("name. . ", "name"),
        ("", "file"),
        ("...", "file"),
        ("dir/", "file"),
        ("\u{202E}", "file"),
    ];
    for (input, expected) in cases {
        assert_eq!(safe_filename(input), *expected, "{input:?}");
    }
}

#[test]
fn long_names_are_shortened_keeping_the_extension() {
    for name in [
        format!("{}.pdf", "a".repeat(300)),
        format!("{}.png", "发".repeat(300)),
        format!("{}.pdf", "😀".repeat(100)),
        "b".repeat(300),
        format!("x.{}", "e".repeat(300)),
    ] {
        let safe = safe_filename(&name);
        assert!(safe.len() <= FILENAME_BYTES_MAX, "{safe}");
        assert!(safe.len() >= FILENAME_BYTES_MAX - 4, "{safe}");
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| e.len() <= 10);
        if let Some(ext) = ext {
            assert!(safe.ends_with(&format!(".{ext}")), "{safe}");
        }
    }
}

#[test]
fn content_dispositions() {
    let cases: &[(&str, &str)] = &[
        (
            "report.pdf",
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf",
        ),
        (
            "发票 2024.pdf",
            "attachment; filename=\"__ 2024.pdf\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8%202024.pdf",
        ),
        (
            "a\"b\\c;d.txt",
            "attachment; filename=\"a_b_c;d.txt\"; filename*=UTF-8''a%22b%5Cc%3Bd.txt",
        ),
        (
            "x\r\nSet-Cookie: a=b",
            "attachment; filename=\"x__Set-Cookie: a=b\"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db",
        ),
    ];
    for (name, expected) in cases {
        let value = content_disposition(name);
        assert_eq!(value, *expected);
        assert!(!value.contains(['\r', '\n']));
    }
}

#[test]
fn served_as_sandboxed_downloads() {
    let headers = response_headers(Kind::Text, "notes.txt");
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(get("X-Content-Type-Options"), Some("nosniff"));
    let csp = get("Content-Security-Policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("sandbox"));
    assert!(get("Content-Disposition")
        .unwrap()
        .starts_with("attachment; "));
    for kind in Kind::ALL {
        assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        assert!(response_headers(kind, "f")
            .iter()
            .any(|(n, _)| *n == "X-Content-Type-Options"));
    }
}
