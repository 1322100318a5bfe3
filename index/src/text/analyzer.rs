//! The analyzer: what a text becomes before it is indexed or searched. Fixed steps, in this
//! order, so that anyone can replicate the tokens (and so the scores) outside Quiver:
//!
//! 1. **Words** by Unicode word segmentation (UAX #29, the `unicode-segmentation` crate's
//!    `unicode_words`: segments holding at least one letter or digit; punctuation and spaces
//!    are dropped; `can't` and `3.14` stay one word each).
//! 2. **Lowercase** (`str::to_lowercase`, full Unicode case mapping).
//! 3. **Stop words** (optional): Lucene's 33-word English list ([`ENGLISH_STOP_WORDS`]),
//!    compared after lowercasing.
//! 4. **Stemming** (optional): Snowball English ("Porter 2", the `rust-stemmers` crate, the
//!    same algorithm as PyStemmer's `english`).
//!
//! Words longer than [`MAX_WORD_BYTES`] bytes (after lowercasing) are dropped: they are
//! base64, hashes or noise, and their postings would only cost space.

use rust_stemmers::{Algorithm, Stemmer};
use std::cell::RefCell;
use std::collections::HashMap;
use unicode_segmentation::UnicodeSegmentation;

/// Lucene's English stop words (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`), sorted.
pub const ENGLISH_STOP_WORDS: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// Longest word kept, in UTF-8 bytes (Lucene's `StandardTokenizer` keeps 255 characters).
pub const MAX_WORD_BYTES: usize = 255;

/// Which stemmer, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stemming {
    None,
    /// Snowball English (Porter 2).
    English,
}

/// Which stop-word list, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopWords {
    None,
    /// [`ENGLISH_STOP_WORDS`].
    English,
}

/// An analyzer's settings. The default is English stop words and English stemming, the
/// setting that scores best on English text (Cranfield: see docs/full-text.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnalyzerConfig {
    pub stemming: Stemming,
    pub stop_words: StopWords,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            stemming: Stemming::English,
            stop_words: StopWords::English,
        }
    }
}

/// Turns texts into terms. Keeps the stems it computed (a batch of texts repeats most of
/// its words, and Snowball is most of the analysis cost), up to [`STEM_CACHE`] words.
pub struct Analyzer {
    config: AnalyzerConfig,
    stemmer: Option<Stemmer>,
    stems: RefCell<HashMap<String, String>>,
}

/// Most words whose stems an analyzer keeps (then it starts over).
pub const STEM_CACHE: usize = 1 << 16;

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("config", &self.config)
            .finish()
    }
}

impl Analyzer {
    pub fn new(config: AnalyzerConfig) -> Self {
        let stemmer = match config.stemming {
            Stemming::None => None,
            Stemming::English => Some(Stemmer::create(Algorithm::English)),
        };
        Analyzer {
            config,
            stemmer,
            stems: RefCell::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> AnalyzerConfig {
        self.config
    }

    /// The terms of `text`, in order, repeats kept (a term's count is its frequency).
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_term(text, |t| out.push(t.to_owned()));
        out
    }

    /// Calls `f` with each term of `text`, in order.
    pub fn for_each_term(&self, text: &str, mut f: impl FnMut(&str)) {
        for word in text.unicode_words() {
            let lower = word.to_lowercase();
            if lower.len() > MAX_WORD_BYTES {
                continue;
            }
            if self.config.stop_words == StopWords::English && is_english_stop_word(&lower) {
                continue;
            }
            match &self.stemmer {
                Some(s) => {
                    let mut stems = self.stems.borrow_mut();
                    if let Some(stem) = stems.get(&lower) {
                        f(stem);
                    } else {
                        let stem = s.stem(&lower).into_owned();
                        f(&stem);
                        if stems.len() >= STEM_CACHE {
                            stems.clear();
                        }
                        stems.insert(lower, stem);
                    }
                }
                None => f(&lower),
            }
        }
    }
}

fn is_english_stop_word(word: &str) -> bool {
    ENGLISH_STOP_WORDS.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Analyzer {
        Analyzer::new(AnalyzerConfig {
            stemming: Stemming::None,
            stop_words: StopWords::None,
        })
    }

    #[test]
    fn stop_list_is_sorted_and_complete() {
        let mut sorted = ENGLISH_STOP_WORDS;
        sorted.sort_unstable();
        assert_eq!(sorted, ENGLISH_STOP_WORDS);
        assert!(is_english_stop_word("the") && !is_english_stop_word("thee"));
    }

    #[test]
    fn words_lowercase_and_punctuation() {
        assert_eq!(
            plain().terms("The Boundary-Layer's flow, at Mach 3.5!  Ünïcode"),
            [
                "the",
                "boundary",
                "layer's",
                "flow",
                "at",
                "mach",
                "3.5",
                "ünïcode"
            ]
        );
        assert!(plain().terms(" ,.;-- ").is_empty());
    }

    #[test]
    fn stop_words_then_stemming() {
        let a = Analyzer::new(AnalyzerConfig::default());
        assert_eq!(
            a.terms("The flows of the heated plates are running"),
            ["flow", "heat", "plate", "run"]
        );
        let only_stop = Analyzer::new(AnalyzerConfig {
            stemming: Stemming::None,
            stop_words: StopWords::English,
        });
        assert_eq!(only_stop.terms("the flows"), ["flows"]);
    }

    #[test]
    fn cached_stems_equal_fresh_ones() {
        let a = Analyzer::new(AnalyzerConfig::default());
        let text = "running runners ran flows flowing heated heating";
        let first = a.terms(text);
        assert_eq!(a.terms(text), first);
        let fresh = Stemmer::create(Algorithm::English);
        let direct: Vec<String> = text
            .split(' ')
            .map(|w| fresh.stem(w).into_owned())
            .collect();
        assert_eq!(first, direct);
    }

    #[test]
    fn overlong_words_are_dropped() {
        let long = "x".repeat(MAX_WORD_BYTES + 1);
        assert_eq!(plain().terms(&format!("a {long} b")), ["a", "b"]);
        let ok = "y".repeat(MAX_WORD_BYTES);
        assert_eq!(plain().terms(&ok), [ok.as_str()]);
    }
}
