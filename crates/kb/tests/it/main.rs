//! The knowledge base as shipped: the compiled-in articles, the relevance set editors wrote
//! (`content/articles/relevance.tsv`), and a small run of the benchmark.

mod bench;
mod builtin;
mod relevance;
