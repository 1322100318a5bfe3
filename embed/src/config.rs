//! A BERT checkpoint's `config.json`, as HuggingFace transformers writes it: the fields the
//! forward pass needs. Written here rather than taken from candle-transformers, whose crate
//! would be a three-minute compile on two cores for this one struct.

use serde::Deserialize;

/// The transformer's shape and conventions (`BertConfig` in transformers).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub(crate) struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: HiddenAct,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    /// transformers' default is 0 (`[PAD]` in BERT vocabularies).
    #[serde(default)]
    pub pad_token_id: usize,
    /// Only absolute position embeddings are implemented; other kinds are refused.
    #[serde(default)]
    pub position_embedding_type: PositionEmbeddingType,
    /// Tensors may be saved under this prefix (`bert.` is tried as well).
    pub model_type: Option<String>,
}

/// The feed-forward activation, by transformers' names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub(crate) enum HiddenAct {
    /// The exact GELU, x · Φ(x).
    #[serde(rename = "gelu")]
    Gelu,
    /// The tanh approximation of GELU (transformers' `gelu_new`, PyTorch's `tanh` mode).
    #[serde(alias = "gelu_new", alias = "gelu_pytorch_tanh")]
    #[serde(rename = "gelu_approximate")]
    GeluApproximate,
    #[serde(rename = "relu")]
    Relu,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PositionEmbeddingType {
    #[default]
    Absolute,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> serde_json::Result<BertConfig> {
        serde_json::from_str(&format!(
            r#"{{"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
                "num_attention_heads": 12, "intermediate_size": 1536,
                "max_position_embeddings": 512, "type_vocab_size": 2,
                "layer_norm_eps": 1e-12, "model_type": "bert" {extra}}}"#
        ))
    }

    #[test]
    fn reads_minilm_style_configs() {
        let c = config(r#", "hidden_act": "gelu", "pad_token_id": 0"#).unwrap();
        assert_eq!(c.hidden_act, HiddenAct::Gelu);
        assert_eq!(c.hidden_size, 384);
        assert_eq!(c.position_embedding_type, PositionEmbeddingType::Absolute);
        for name in ["gelu_new", "gelu_pytorch_tanh"] {
            let c = config(&format!(r#", "hidden_act": "{name}""#)).unwrap();
            assert_eq!(c.hidden_act, HiddenAct::GeluApproximate);
        }
    }

    #[test]
    fn refuses_what_the_forward_pass_cannot_run() {
        assert!(config(r#", "hidden_act": "swish""#).is_err());
        assert!(
            config(r#", "hidden_act": "gelu", "position_embedding_type": "relative_key""#).is_err()
        );
        assert!(config("").is_err(), "hidden_act is required");
    }
}
