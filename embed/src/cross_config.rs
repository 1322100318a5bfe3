//! What a cross-encoder folder says about its outputs: the number of labels, the activation
//! sentence-transformers applies to the logits, and the longest input.

use crate::folder::optional_json;
use quiver::embed::ScoreActivation;
use quiver::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// The number of outputs, as transformers derives it: `id2label`'s size, else `num_labels`,
/// else transformers' default of 2. The architecture, when named, must be a sequence
/// classifier.
pub(crate) fn labels(dir: &Path, config: &Value) -> Result<usize> {
    let bad = |reason: String| Error::InvalidModel {
        path: dir.join("config.json"),
        reason,
    };
    if let Some(archs) = config.get("architectures").and_then(Value::as_array) {
        let names: Vec<&str> = archs.iter().filter_map(Value::as_str).collect();
        if !names
            .iter()
            .any(|a| a.ends_with("ForSequenceClassification"))
        {
            return Err(bad(format!(
                "architectures {names:?} name no …ForSequenceClassification model: not a cross-encoder"
            )));
        }
    }
    let n = match (
        config.get("id2label").and_then(Value::as_object),
        config.get("num_labels").and_then(Value::as_u64),
    ) {
        (Some(map), _) => map.len(),
        (None, Some(n)) => n as usize,
        (None, None) => 2,
    };
    if n == 0 || n > 1024 {
        return Err(bad(format!("{n} labels")));
    }
    Ok(n)
}

/// The activation sentence-transformers (6.x) applies, in its order of precedence:
/// `config_sentence_transformers.json`'s `activation_fn`, then `config.json`'s
/// `sentence_transformers.activation_fn` (the hub's older CrossEncoder folders), then its
/// `sbert_ce_default_activation_function` (before v4), else sigmoid for one label and
/// identity for more. Like sentence-transformers without `trust_remote_code`, a path outside
/// `torch.` is skipped (it would import code).
pub(crate) fn activation(dir: &Path, config: &Value, labels: usize) -> Result<ScoreActivation> {
    let st = optional_json(dir, "config_sentence_transformers.json")?;
    let candidates = [
        (
            "config_sentence_transformers.json",
            st.as_ref().and_then(|c| c.get("activation_fn")),
        ),
        (
            "config.json",
            config
                .get("sentence_transformers")
                .and_then(|s| s.get("activation_fn")),
        ),
        (
            "config.json",
            config.get("sbert_ce_default_activation_function"),
        ),
    ];
    for (file, value) in candidates {
        let Some(path) = value.and_then(Value::as_str) else {
            continue;
        };
        if !path.starts_with("torch.") {
            continue;
        }
        return match path.rsplit('.').next().unwrap_or(path) {
            "Identity" => Ok(ScoreActivation::Identity),
            "Sigmoid" => Ok(ScoreActivation::Sigmoid),
            "Tanh" => Ok(ScoreActivation::Tanh),
            other => Err(Error::InvalidModel {
                path: dir.join(file),
                reason: format!(
                    "activation {other} ({path}) is not supported (Identity, Sigmoid and Tanh are)"
                ),
            }),
        };
    }
    Ok(if labels == 1 {
        ScoreActivation::Sigmoid
    } else {
        ScoreActivation::Identity
    })
}

/// The longest input in tokens, as sentence-transformers' Transformer module takes it:
/// `sentence_bert_config.json`'s `max_seq_length`, else the tokenizer's `model_max_length`
/// (`tokenizer_config.json`; CrossEncoder's `max_length` is saved there), capped at the
/// model's position limit.
pub(crate) fn max_length(dir: &Path, positions: usize) -> Result<usize> {
    let read = |file: &str, key: &str| -> Result<Option<u64>> {
        let Some(v) = optional_json(dir, file)? else {
            return Ok(None);
        };
        Ok(match v.get(key) {
            // transformers writes 1e30 ("no limit") as a float.
            Some(n) => n
                .as_u64()
                .or_else(|| n.as_f64().map(|f| f.min(1e18) as u64)),
            None => None,
        })
    };
    let length = match read("sentence_bert_config.json", "max_seq_length")? {
        Some(n) => Some(n),
        None => read("tokenizer_config.json", "model_max_length")?,
    };
    let length = length.map_or(positions, |n| (n as usize).min(positions));
    if length < 4 {
        return Err(Error::InvalidModel {
            path: dir.to_path_buf(),
            reason: format!("a maximum length of {length} tokens leaves no room for a pair"),
        });
    }
    Ok(length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn folder(files: &[(&str, Value)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, v) in files {
            std::fs::write(dir.path().join(name), v.to_string()).unwrap();
        }
        dir
    }

    #[test]
    fn activation_follows_sentence_transformers_precedence() {
        let d = folder(&[]);
        assert_eq!(
            activation(d.path(), &json!({}), 1).unwrap(),
            ScoreActivation::Sigmoid
        );
        assert_eq!(
            activation(d.path(), &json!({}), 3).unwrap(),
            ScoreActivation::Identity
        );
        let hub =
            json!({"sentence_transformers": {"activation_fn": "torch.nn.modules.linear.Identity"}});
        assert_eq!(
            activation(d.path(), &hub, 1).unwrap(),
            ScoreActivation::Identity
        );
        let old =
            json!({"sbert_ce_default_activation_function": "torch.nn.modules.activation.Tanh"});
        assert_eq!(
            activation(d.path(), &old, 1).unwrap(),
            ScoreActivation::Tanh
        );
        let st6 = folder(&[(
            "config_sentence_transformers.json",
            json!({"activation_fn": "torch.nn.modules.activation.Sigmoid"}),
        )]);
        assert_eq!(
            activation(st6.path(), &hub, 1).unwrap(),
            ScoreActivation::Sigmoid,
            "the ST 6 file wins over config.json"
        );
        let custom = json!({"sentence_transformers": {"activation_fn": "mypkg.Scale"}});
        assert_eq!(
            activation(d.path(), &custom, 1).unwrap(),
            ScoreActivation::Sigmoid,
            "untrusted paths are skipped"
        );
        let softmax = json!({"sentence_transformers": {"activation_fn": "torch.nn.Softmax"}});
        assert!(matches!(
            activation(d.path(), &softmax, 1),
            Err(Error::InvalidModel { .. })
        ));
    }

    #[test]
    fn labels_and_architecture() {
        let d = folder(&[]);
        let p = d.path();
        assert_eq!(
            labels(p, &json!({"id2label": {"0": "a", "1": "b", "2": "c"}})).unwrap(),
            3
        );
        assert_eq!(labels(p, &json!({"num_labels": 1})).unwrap(), 1);
        assert_eq!(labels(p, &json!({})).unwrap(), 2);
        let ok = json!({"architectures": ["BertForSequenceClassification"], "num_labels": 1});
        assert_eq!(labels(p, &ok).unwrap(), 1);
        assert!(labels(p, &json!({"architectures": ["BertModel"]})).is_err());
        assert!(labels(p, &json!({"num_labels": 0})).is_err());
    }

    #[test]
    fn max_length_from_the_files_capped_at_positions() {
        let d = folder(&[("tokenizer_config.json", json!({"model_max_length": 64}))]);
        assert_eq!(max_length(d.path(), 512).unwrap(), 64);
        let d = folder(&[
            ("tokenizer_config.json", json!({"model_max_length": 1e30})),
            ("sentence_bert_config.json", json!({"task": "x"})),
        ]);
        assert_eq!(max_length(d.path(), 512).unwrap(), 512);
        let d = folder(&[
            ("tokenizer_config.json", json!({"model_max_length": 64})),
            ("sentence_bert_config.json", json!({"max_seq_length": 128})),
        ]);
        assert_eq!(max_length(d.path(), 512).unwrap(), 128);
        let d = folder(&[("tokenizer_config.json", json!({"model_max_length": 2}))]);
        assert!(max_length(d.path(), 512).is_err());
    }
}
