//! The knowledge base: the help center's articles, their format, and the search that finds them.
//!
//! - [`article`]: the article file format (front matter + Markdown) and the articles compiled
//!   into the binary from `content/articles/{zh-CN,en}` — the binary never reads the source tree.
//! - [`markdown`]: Markdown to sanitised HTML for pages, and to plain text for the index.
//! - [`analysis`]: how Chinese (jieba segmentation, character pairs) and English (stemming, word
//!   pairs) text becomes search terms, and tags become phrases to find inside questions.
//! - [`synonyms`]: colloquial phrasings mapped to the articles' words (`content/synonyms.txt`).
//! - [`index`]: the in-memory tantivy index, its queries, ranking and highlighted hits (the
//!   highlighting itself is the private `snippet` module).
//! - [`bench`](mod@bench): a synthetic knowledge base to time the index with.
//!
//! This crate knows nothing of HTTP, SQL or who is asking: it takes articles and questions and
//! returns hits. Where articles are stored and edited is for the crates around it.

pub mod analysis;
pub mod article;
pub mod bench;
pub mod index;
pub mod markdown;
mod snippet;
pub mod synonyms;

pub use article::{builtin_articles, parse_article, Article, ArticleError, Lang, CATEGORIES};
pub use index::{Hit, Index, IndexError};
pub use markdown::{plain_text, render_markdown};
