//! Embeds the knowledge base into the binary: every `content/articles/<lang>/*.md` becomes an
//! `include_str!` in `$OUT_DIR/articles.rs`, so `builtin_articles()` never reads the source tree
//! at run time. Cargo reruns this script whenever a file under `content/articles` changes,
//! including a file being added or removed (it watches the folder, not a list of files).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

const LANGS: [&str; 2] = ["zh-CN", "en"];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let articles_dir = manifest_dir.join("../../content/articles");
    println!("cargo:rerun-if-changed={}", articles_dir.display());

    let mut out = String::from("&[\n");
    for lang in LANGS {
        for path in markdown_files(&articles_dir.join(lang)) {
            let path = path.canonicalize().expect("a listed file exists");
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 file name");
            let path = path.to_str().expect("a UTF-8 path");
            writeln!(out, "    ({lang:?}, {name:?}, include_str!({path:?})),")
                .expect("writing to a String");
        }
    }
    out.push_str("]\n");

    let out_path = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("articles.rs");
    fs::write(out_path, out).expect("OUT_DIR is writable");
}

/// The `.md` files of one language folder, sorted so the generated list is stable. A missing
/// folder is an empty knowledge base, not a build failure.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    files.sort();
    files
}
