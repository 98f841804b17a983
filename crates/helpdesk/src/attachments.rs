//! The policy for files attached to tickets: what is accepted, under which name and type, and
//! how it is served back.
//!
//! # Rules
//! - The kind is decided by the file's first bytes, never by its name or the declared type.
//!   Accepted: PNG, JPEG, GIF, WebP, PDF, and plain text (valid UTF-8 without NUL bytes), which
//!   is CSV when the name ends in `.csv`.
//! - Refused by name of what was detected (`not_allowed`): HTML, SVG, XML, scripts (`#!`),
//!   executables (PE, ELF, Mach-O, WebAssembly), archives (ZIP — so also Office Open XML —,
//!   gzip, 7z, RAR, bzip2, xz, zstd, tar, ar) and OLE compound documents (old Office files,
//!   MSI). Text counts as HTML/SVG/XML when it starts like one (the WHATWG sniffing patterns) or
//!   contains `<script`, `<svg`, `<html` or `<iframe` anywhere in the prefix.
//! - The declared content type is only ever used to refuse: a client that calls the file HTML,
//!   SVG, XML, a script or an executable is taken at its word.
//! - The name's extension must be one of the detected kind's (`.png`; `.jpg`/`.jpeg`; `.txt`,
//!   `.text`, `.log`, `.md` or `.csv` for text); a mismatch is refused and the error names
//!   both, rather than silently renamed — a PNG called `.exe` is a mistake or a trick, and the
//!   customer should know which file we kept. A name without an extension gets the kind's.
//! - Checks run in this order: `empty`, `too_large` (limit in [`Policy`], 10 MiB by default),
//!   `not_allowed`, `declared_not_allowed`, `text_has_nul`/`text_not_utf8` (for names ending
//!   in a text extension), `unrecognized`, `extension_mismatch`.
//! - [`safe_filename`] keeps only the last path component, drops control, bidi and zero-width
//!   characters, replaces characters Windows forbids, drops leading dots and trailing dots and
//!   spaces, prefixes Windows device names, and shortens to [`FILENAME_BYTES_MAX`] bytes keeping
//!   the extension. Chinese and other letters are kept.
//! - Files are always served as downloads ([`content_disposition`]) with [`response_headers`]:
//!   `nosniff` and a sandboxing CSP, so even a file that slipped through cannot run as a page.
//!
//! This module never does I/O: the caller reads the prefix (at least [`SNIFF_BYTES`] bytes, or
//! the whole file when smaller) and the size.

use std::fmt;

/// How many leading bytes [`check`] wants to see (tar's magic is at 257).
pub const SNIFF_BYTES: usize = 512;

/// The longest safe filename, in UTF-8 bytes (filesystems allow 255; headers double it).
pub const FILENAME_BYTES_MAX: usize = 150;

/// An accepted kind of file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Png,
    Jpeg,
    Gif,
    Webp,
    Pdf,
    Text,
    Csv,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Png,
        Kind::Jpeg,
        Kind::Gif,
        Kind::Webp,
        Kind::Pdf,
        Kind::Text,
        Kind::Csv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Png => "png",
            Kind::Jpeg => "jpeg",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Pdf => "pdf",
            Kind::Text => "text",
            Kind::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The content type the file is stored and served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Pdf => "application/pdf",
            Kind::Text => "text/plain; charset=utf-8",
            Kind::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The extensions a name may end in (lowercase, the first one given to names without).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Kind::Png => &["png"],
            Kind::Jpeg => &["jpg", "jpeg"],
            Kind::Gif => &["gif"],
            Kind::Webp => &["webp"],
            Kind::Pdf => &["pdf"],
            Kind::Text => &["txt", "text", "log", "md"],
            Kind::Csv => &["csv"],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A detected kind that is never accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refused {
    Html,
    Svg,
    Xml,
    Script,
    Executable,
    Archive,
    OleDocument,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Html => "html",
            Refused::Svg => "svg",
            Refused::Xml => "xml",
            Refused::Script => "script",
            Refused::Executable => "executable",
            Refused::Archive => "archive",
            Refused::OleDocument => "ole_document",
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An accepted file: its kind, the name to store, and the type to serve it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub kind: Kind,
    pub safe_filename: String,
    pub content_type: &'static str,
}

/// Why a file is refused, in order of precedence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    #[error("the file is empty")]
    Empty,
    #[error("the file has {size_bytes} bytes, more than the limit of {size_max_bytes}")]
    TooLarge {
        size_bytes: u64,
        size_max_bytes: u64,
    },
    #[error("{detected} files are not allowed")]
    NotAllowed { detected: Refused },
    #[error("the file was sent as {declared}, which is not allowed")]
    DeclaredNotAllowed { declared: Refused },
    #[error("the text file contains NUL bytes")]
    TextHasNul,
    #[error("the text file is not UTF-8")]
    TextNotUtf8,
    #[error("the file is not an image, a PDF or a text file")]
    Unrecognized,
    #[error("the file is a {kind} file but its name ends in .{extension}")]
    ExtensionMismatch { kind: Kind, extension: String },
}

impl AttachmentError {
    pub fn code(&self) -> &'static str {
        match self {
            AttachmentError::Empty => "empty",
            AttachmentError::TooLarge { .. } => "too_large",
            AttachmentError::NotAllowed { .. } => "not_allowed",
            AttachmentError::DeclaredNotAllowed { .. } => "declared_not_allowed",
            AttachmentError::TextHasNul => "text_has_nul",
            AttachmentError::TextNotUtf8 => "text_not_utf8",
            AttachmentError::Unrecognized => "unrecognized",
            AttachmentError::ExtensionMismatch { .. } => "extension_mismatch",
        }
    }
}

/// The limits a desk sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub size_max_bytes: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            size_max_bytes: 10 * 1024 * 1024,
        }
    }
}

enum Sniffed {
    Accepted(Kind),
    Refused(Refused),
    TextHasNul,
    TextNotUtf8,
}

fn starts_with_ignore_case(bytes: &[u8], pattern: &[u8]) -> bool {
    bytes.len() >= pattern.len() && bytes[..pattern.len()].eq_ignore_ascii_case(pattern)
}

fn contains_ignore_case(bytes: &[u8], pattern: &[u8]) -> bool {
    bytes
        .windows(pattern.len())
        .any(|w| w.eq_ignore_ascii_case(pattern))
}

fn sniff_markup(text: &[u8]) -> Option<Refused> {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text_start = &text[start..];
    if starts_with_ignore_case(text_start, b"<svg") || contains_ignore_case(text, b"<svg") {
        return Some(Refused::Svg);
    }
    // WHATWG MIME sniffing: these tags, followed by a space or `>`, make a page.
    const TAGS: [&[u8]; 17] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<!--",
    ];
    let page = TAGS.iter().any(|tag| {
        starts_with_ignore_case(text_start, tag)
            && matches!(
                text_start.get(tag.len()),
                None | Some(b' ' | b'>' | b'\t' | b'\n' | b'\r')
            )
    });
    if page
        || [b"<script".as_slice(), b"<html", b"<iframe"]
            .iter()
            .any(|p| contains_ignore_case(text, p))
    {
        return Some(Refused::Html);
    }
    if starts_with_ignore_case(text_start, b"<?xml") {
        return Some(Refused::Xml);
    }
    None
}

fn sniff(prefix: &[u8], complete: bool) -> Sniffed {
    let has = |m: &[u8]| prefix.starts_with(m);
    if has(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Accepted(Kind::Png);
    }
    if has(b"\xff\xd8\xff") {
        return Sniffed::Accepted(Kind::Jpeg);
    }
    if has(b"GIF87a") || has(b"GIF89a") {
        return Sniffed::Accepted(Kind::Gif);
    }
    if has(b"RIFF") && prefix.get(8..12) == Some(b"WEBP") {
        return Sniffed::Accepted(Kind::Webp);
    }
    if has(b"%PDF-") {
        return Sniffed::Accepted(Kind::Pdf);
    }
    let executable: [&[u8]; 8] = [
        b"MZ",
        b"\x7fELF",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
        b"\0asm",
    ];
    if executable.iter().any(|m| has(m)) {
        return Sniffed::Refused(Refused::Executable);
    }
    let archive: [&[u8]; 11] = [
        b"PK\x03\x04",
        b"PK\x05\x06",
        b"PK\x07\x08",
        b"\x1f\x8b",
        b"7z\xbc\xaf\x27\x1c",
        b"Rar!\x1a\x07",
        b"BZh",
        b"\xfd7zXZ\0",
        b"\x28\xb5\x2f\xfd",
        b"!<arch>\n",
        b"MSCF",
    ];
    if archive.iter().any(|m| has(m)) || prefix.get(257..262) == Some(b"ustar") {
        return Sniffed::Refused(Refused::Archive);
    }
    if has(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        return Sniffed::Refused(Refused::OleDocument);
    }
    if has(b"#!") {
        return Sniffed::Refused(Refused::Script);
    }
    let body = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
    if let Some(markup) = sniff_markup(body) {
        return Sniffed::Refused(markup);
    }
    if body.contains(&0) {
        return Sniffed::TextHasNul;
    }
    match std::str::from_utf8(body) {
        Ok(_) => Sniffed::Accepted(Kind::Text),
        // The prefix may end inside a character when it is not the whole file.
        Err(e) if e.error_len().is_none() && !complete => Sniffed::Accepted(Kind::Text),
        Err(_) => Sniffed::TextNotUtf8,
    }
}

fn declared_refusal(declared: &str) -> Option<Refused> {
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "text/html" | "application/xhtml+xml" => Some(Refused::Html),
        "image/svg+xml" => Some(Refused::Svg),
        "text/xml" | "application/xml" => Some(Refused::Xml),
        "text/javascript"
        | "application/javascript"
        | "application/x-sh"
        | "application/x-shellscript" => Some(Refused::Script),
        "application/x-msdownload" | "application/x-msdos-program" | "application/x-executable" => {
            Some(Refused::Executable)
        }
        _ => None,
    }
}

/// The lowercase extension of a name, if it has one (a leading dot does not start one).
fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_lowercase())
}

impl Policy {
    /// Decides whether a file is accepted (see the module's rules). `bytes_prefix` is the
    /// file's first bytes (see [`SNIFF_BYTES`]), `size_bytes` its whole size.
    pub fn check(
        &self,
        filename: &str,
        declared_content_type: &str,
        bytes_prefix: &[u8],
        size_bytes: u64,
    ) -> Result<Accepted, AttachmentError> {
        if size_bytes == 0 {
            return Err(AttachmentError::Empty);
        }
        if size_bytes > self.size_max_bytes {
            return Err(AttachmentError::TooLarge {
                size_bytes,
                size_max_bytes: self.size_max_bytes,
            });
        }
        let name = safe_filename(filename);
        let ext = extension(&name);
        let complete = bytes_prefix.len() as u64 >= size_bytes;
        let sniffed = sniff(bytes_prefix, complete);
        if let Sniffed::Refused(detected) = sniffed {
            return Err(AttachmentError::NotAllowed { detected });
        }
        if let Some(declared) = declared_refusal(declared_content_type) {
            return Err(AttachmentError::DeclaredNotAllowed { declared });
        }
        let named_text = ext
            .as_deref()
            .is_some_and(|e| Kind::Text.extensions().contains(&e) || e == "csv");
        let mut kind = match sniffed {
            Sniffed::Accepted(kind) if !bytes_prefix.is_empty() => kind,
            Sniffed::TextHasNul if named_text => return Err(AttachmentError::TextHasNul),
            Sniffed::TextNotUtf8 if named_text => return Err(AttachmentError::TextNotUtf8),
            _ => return Err(AttachmentError::Unrecognized),
        };
        if kind == Kind::Text && ext.as_deref() == Some("csv") {
            kind = Kind::Csv;
        }
        let safe_filename = match ext {
            Some(e) if kind.extensions().contains(&e.as_str()) => name,
            Some(extension) => return Err(AttachmentError::ExtensionMismatch { kind, extension }),
            None => {
                let with = format!("{name}.{}", kind.extensions()[0]);
                safe_filename(&with)
            }
        };
        Ok(Accepted {
            kind,
            safe_filename,
            content_type: kind.content_type(),
        })
    }
}

/// [`Policy::check`] with the default policy.
pub fn check(
    filename: &str,
    declared_content_type: &str,
    bytes_prefix: &[u8],
    size_bytes: u64,
) -> Result<Accepted, AttachmentError> {
    Policy::default().check(filename, declared_content_type, bytes_prefix, size_bytes)
}

/// Characters that are dropped from names: controls, bidi controls, zero-width characters.
fn is_dropped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Truncates to at most `max` UTF-8 bytes on a character boundary.
fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A name that is safe to store and to show (see the module's rules); never empty.
pub fn safe_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !is_dropped(*c))
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let mut out = if trimmed.is_empty() {
        "file".to_owned()
    } else {
        trimmed.to_owned()
    };
    let stem_upper = out
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_uppercase();
    let device = matches!(stem_upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem_upper.len() == 4
            && (stem_upper.starts_with("COM") || stem_upper.starts_with("LPT"))
            && stem_upper.as_bytes()[3].is_ascii_digit());
    if device {
        out.insert(0, '_');
    }
    if out.len() > FILENAME_BYTES_MAX {
        // Keep a short extension; a long "extension" is just part of the name.
        let (stem, ext) = match out.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() && ext.chars().count() <= 10 => {
                (stem.to_owned(), format!(".{ext}"))
            }
            _ => (out.clone(), String::new()),
        };
        let stem = truncate_bytes(&stem, FILENAME_BYTES_MAX - ext.len()).trim_end();
        out = format!("{stem}{ext}");
    }
    out
}

/// RFC 5987 `attr-char`: what `filename*` may carry without percent-encoding.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

/// The `Content-Disposition` value: always `attachment`, with an ASCII `filename` fallback
/// (other characters become `_`) and the exact name in RFC 5987 `filename*=UTF-8''…`.
pub fn content_disposition(safe_filename: &str) -> String {
    let fallback: String = safe_filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(safe_filename.len() * 3);
    for b in safe_filename.bytes() {
        if is_attr_char(b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The headers to serve a stored attachment with, as (name, value) pairs.
pub fn response_headers(kind: Kind, safe_filename: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", kind.content_type().to_owned()),
        ("Content-Disposition", content_disposition(safe_filename)),
        ("X-Content-Type-Options", "nosniff".to_owned()),
        (
            "Content-Security-Policy",
            "default-src 'none'; sandbox".to_owned(),
        ),
        ("Cross-Origin-Resource-Policy", "same-origin".to_owned()),
        ("Cache-Control", "private, no-store".to_owned()),
    ]
}
