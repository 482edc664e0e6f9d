//! Layer lists of the models the training step runs, as GEMM shapes (convolutions as im2col).
//!
//! | model | layers | input |
//! |---|---|---|
//! | `resnet18`, `resnet50` | torchvision v1.5 (stride in the 3x3 conv), fc | 224 x 224 images |
//! | `vgg16` | 13 convs (3x3, pad 1), 3 fc | 224 x 224 images |
//! | `vit-b16` | patch embedding, 12 encoder layers (QKV, QK^T, PV, projection, MLP), head | 224 x 224, 197 tokens |
//! | `bert-layer` | one BERT-base encoder layer (d = 768, 12 heads, FFN 3072) | `seq` tokens per sequence |
//!
//! Only the GEMMs are modeled: normalization, activations, softmax, pooling and residual adds
//! are left out (they would dilute a sparse speedup further).

use crate::error::{Result, SimulatorError};

/// The models known by name.
pub const MODEL_NAMES: [&str; 5] = ["resnet18", "resnet50", "vgg16", "vit-b16", "bert-layer"];

/// One layer's GEMM work.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerOp {
    /// `Y[rows, n] = X[rows, k] · W[k, n]`: a convolution (im2col) or a linear layer whose weights
    /// BDWP prunes N:M.
    Weighted {
        /// Output positions: batch x output pixels (or tokens).
        rows: u64,
        /// Reduction: input channels x kernel height x kernel width (or input features).
        k: u64,
        /// Output channels (or output features).
        n: u64,
        /// DRAM footprint of the im2col input relative to its logical size.
        footprint: f64,
        /// Whether the step computes the input gradient (false for a first layer fed by data).
        input_grad: bool,
    },
    /// `C[m, n] = A[m, k] · B[k, n]` between activations (attention's QK^T and PV), `count`
    /// instances (batch x heads); no weights, so it stays dense.
    ActAct {
        /// Rows of `A`.
        m: u64,
        /// Reduction.
        k: u64,
        /// Columns of `B`.
        n: u64,
        /// Instances.
        count: u64,
    },
}

/// A named layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Name, e.g. `layer3.2.conv2`.
    pub name: String,
    /// Its GEMM work.
    pub op: LayerOp,
}

impl Layer {
    /// A 2D convolution on a `batch x h x w x cin` input as im2col: `rows = batch * h_out * w_out`,
    /// `k = cin * kernel^2`, footprint `min(1, input elements / (rows * k))`.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        name: &str,
        batch: u64,
        h: u64,
        w: u64,
        cin: u64,
        cout: u64,
        kernel: u64,
        stride: u64,
        pad: u64,
    ) -> Self {
        let h_out = (h + 2 * pad - kernel) / stride + 1;
        let w_out = (w + 2 * pad - kernel) / stride + 1;
        let rows = batch * h_out * w_out;
        let k = cin * kernel * kernel;
        let footprint = ((batch * h * w * cin) as f64 / (rows * k) as f64).min(1.0);
        Layer {
            name: name.to_string(),
            op: LayerOp::Weighted {
                rows,
                k,
                n: cout,
                footprint,
                input_grad: true,
            },
        }
    }

    /// A linear layer on `rows` tokens.
    pub fn linear(name: &str, rows: u64, k: u64, n: u64) -> Self {
        Layer {
            name: name.to_string(),
            op: LayerOp::Weighted {
                rows,
                k,
                n,
                footprint: 1.0,
                input_grad: true,
            },
        }
    }

    /// An activation-by-activation GEMM.
    pub fn act_act(name: &str, m: u64, k: u64, n: u64, count: u64) -> Self {
        Layer {
            name: name.to_string(),
            op: LayerOp::ActAct { m, k, n, count },
        }
    }

    /// Parameters (weights) of the layer.
    pub fn params(&self) -> u64 {
        match self.op {
            LayerOp::Weighted { k, n, .. } => k * n,
            LayerOp::ActAct { .. } => 0,
        }
    }

    /// Dense multiply-accumulates of the forward pass.
    pub fn forward_macs(&self) -> u64 {
        match self.op {
            LayerOp::Weighted { rows, k, n, .. } => rows * k * n,
            LayerOp::ActAct { m, k, n, count } => m * k * n * count,
        }
    }

    fn without_input_grad(mut self) -> Self {
        if let LayerOp::Weighted { input_grad, .. } = &mut self.op {
            *input_grad = false;
        }
        self
    }
}

/// A model: its layers in forward order.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Name, one of [`MODEL_NAMES`].
    pub name: String,
    /// Images or sequences per step.
    pub batch: u64,
    /// Tokens per sequence (transformers), or 0.
    pub seq: u64,
    /// Layers in forward order.
    pub layers: Vec<Layer>,
}

impl ModelSpec {
    /// Builds a model by name. `seq` applies to `bert-layer` only (ViT-B/16 has 197 tokens).
    pub fn by_name(name: &str, batch: u64, seq: u64) -> Result<Self> {
        if batch == 0 {
            return Err(SimulatorError::bad_workload(
                "batch",
                batch,
                "at least 1 image or sequence per step",
            ));
        }
        let (layers, seq) = match name {
            "resnet18" => (resnet(batch, &[2, 2, 2, 2], false), 0),
            "resnet50" => (resnet(batch, &[3, 4, 6, 3], true), 0),
            "vgg16" => (vgg16(batch), 0),
            "vit-b16" => (vit_b16(batch), 197),
            "bert-layer" => {
                if seq == 0 {
                    return Err(SimulatorError::bad_workload(
                        "seq",
                        seq,
                        "at least 1 token per sequence",
                    ));
                }
                (encoder_layer("encoder", batch, seq, 768, 12, 3072), seq)
            }
            _ => {
                return Err(SimulatorError::UnknownModel {
                    name: name.to_string(),
                    known: MODEL_NAMES.join(", "),
                })
            }
        };
        Ok(ModelSpec {
            name: name.to_string(),
            batch,
            seq,
            layers,
        })
    }

    /// Parameters of all weighted layers.
    pub fn params(&self) -> u64 {
        self.layers.iter().map(Layer::params).sum()
    }
}

fn resnet(b: u64, blocks: &[u64; 4], bottleneck: bool) -> Vec<Layer> {
    let mut layers = vec![Layer::conv("conv1", b, 224, 224, 3, 64, 7, 2, 3).without_input_grad()];
    let (mut hw, mut cin) = (56u64, 64u64);
    for (stage, &count) in blocks.iter().enumerate() {
        let width = 64u64 << stage;
        let cout = if bottleneck { width * 4 } else { width };
        for block in 0..count {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            let p = format!("layer{}.{block}", stage + 1);
            let hw_out = hw / stride;
            if bottleneck {
                layers.push(Layer::conv(&format!("{p}.conv1"), b, hw, hw, cin, width, 1, 1, 0));
                layers.push(Layer::conv(
                    &format!("{p}.conv2"),
                    b,
                    hw,
                    hw,
                    width,
                    width,
                    3,
                    stride,
                    1,
                ));
                layers.push(Layer::conv(
                    &format!("{p}.conv3"),
                    b,
                    hw_out,
                    hw_out,
                    width,
                    cout,
                    1,
                    1,
                    0,
                ));
            } else {
                layers.push(Layer::conv(&format!("{p}.conv1"), b, hw, hw, cin, width, 3, stride, 1));
                layers.push(Layer::conv(
                    &format!("{p}.conv2"),
                    b,
                    hw_out,
                    hw_out,
                    width,
                    width,
                    3,
                    1,
                    1,
                ));
            }
            if block == 0 && (stride != 1 || cin != cout) {
                layers.push(Layer::conv(
                    &format!("{p}.downsample"),
                    b,
                    hw,
                    hw,
                    cin,
                    cout,
                    1,
                    stride,
                    0,
                ));
            }
            hw = hw_out;
            cin = cout;
        }
    }
    layers.push(Layer::linear("fc", b, cin, 1000));
    layers
}

fn vgg16(b: u64) -> Vec<Layer> {
    let stages: [(u64, u64, u64); 5] = [(224, 64, 2), (112, 128, 2), (56, 256, 3), (28, 512, 3), (14, 512, 3)];
    let mut layers = Vec::new();
    let mut cin = 3u64;
    for (s, &(hw, cout, convs)) in stages.iter().enumerate() {
        for c in 0..convs {
            let layer = Layer::conv(&format!("conv{}_{}", s + 1, c + 1), b, hw, hw, cin, cout, 3, 1, 1);
            layers.push(if layers.is_empty() {
                layer.without_input_grad()
            } else {
                layer
            });
            cin = cout;
        }
    }
    layers.push(Layer::linear("fc6", b, 512 * 7 * 7, 4096));
    layers.push(Layer::linear("fc7", b, 4096, 4096));
    layers.push(Layer::linear("fc8", b, 4096, 1000));
    layers
}

/// One transformer encoder layer on `batch` sequences of `seq` tokens.
fn encoder_layer(prefix: &str, batch: u64, seq: u64, d: u64, heads: u64, ffn: u64) -> Vec<Layer> {
    let tokens = batch * seq;
    let head_dim = d / heads;
    vec![
        Layer::linear(&format!("{prefix}.qkv"), tokens, d, 3 * d),
        Layer::act_act(&format!("{prefix}.qk"), seq, head_dim, seq, batch * heads),
        Layer::act_act(&format!("{prefix}.pv"), seq, seq, head_dim, batch * heads),
        Layer::linear(&format!("{prefix}.proj"), tokens, d, d),
        Layer::linear(&format!("{prefix}.fc1"), tokens, d, ffn),
        Layer::linear(&format!("{prefix}.fc2"), tokens, ffn, d),
    ]
}

fn vit_b16(b: u64) -> Vec<Layer> {
    let mut layers = vec![Layer::conv("patch_embed", b, 224, 224, 3, 768, 16, 16, 0).without_input_grad()];
    for l in 0..12 {
        layers.extend(encoder_layer(&format!("block{l}"), b, 197, 768, 12, 3072));
    }
    layers.push(Layer::linear("head", b, 768, 1000));
    layers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gmacs(m: &ModelSpec) -> f64 {
        m.layers.iter().map(Layer::forward_macs).sum::<u64>() as f64 / 1e9 / m.batch as f64
    }

    #[test]
    fn published_sizes_per_image() {
        // Parameters (conv + fc weights, no biases or BN) and multiply-accumulates per image.
        let r50 = ModelSpec::by_name("resnet50", 1, 0).unwrap();
        assert!((r50.params() as f64 / 1e6 - 25.5).abs() < 0.3, "{}", r50.params());
        assert!((gmacs(&r50) - 4.1).abs() < 0.1, "{}", gmacs(&r50));
        let r18 = ModelSpec::by_name("resnet18", 1, 0).unwrap();
        assert!((r18.params() as f64 / 1e6 - 11.7).abs() < 0.1, "{}", r18.params());
        assert!((gmacs(&r18) - 1.8).abs() < 0.05, "{}", gmacs(&r18));
        let vgg = ModelSpec::by_name("vgg16", 1, 0).unwrap();
        assert!((vgg.params() as f64 / 1e6 - 138.3).abs() < 0.2, "{}", vgg.params());
        assert!((gmacs(&vgg) - 15.5).abs() < 0.1, "{}", gmacs(&vgg));
        let vit = ModelSpec::by_name("vit-b16", 1, 0).unwrap();
        assert!((vit.params() as f64 / 1e6 - 86.4).abs() < 0.5, "{}", vit.params());
        assert!((gmacs(&vit) - 17.6).abs() < 0.3, "{}", gmacs(&vit));
    }

    #[test]
    fn bert_layer_shapes() {
        let m = ModelSpec::by_name("bert-layer", 2, 128).unwrap();
        assert_eq!(m.layers.len(), 6);
        assert_eq!(m.params(), 768 * 2304 + 768 * 768 + 2 * 768 * 3072);
        assert_eq!(
            m.layers[1].op,
            LayerOp::ActAct {
                m: 128,
                k: 64,
                n: 128,
                count: 24
            }
        );
    }

    #[test]
    fn im2col_footprints() {
        let LayerOp::Weighted { footprint, rows, k, .. } = Layer::conv("c", 1, 56, 56, 64, 64, 3, 1, 1).op else {
            panic!("conv is weighted")
        };
        assert_eq!((rows, k), (56 * 56, 576));
        assert!((footprint - 1.0 / 9.0).abs() < 1e-12);
        let LayerOp::Weighted { footprint, .. } = Layer::conv("d", 1, 56, 56, 256, 512, 1, 2, 0).op else {
            panic!("conv is weighted")
        };
        assert_eq!(footprint, 1.0, "a strided 1x1 conv loads only the pixels it uses");
    }

    #[test]
    fn bad_names_and_sizes_are_errors() {
        assert!(ModelSpec::by_name("alexnet", 1, 0)
            .unwrap_err()
            .to_string()
            .contains("resnet50"));
        assert!(ModelSpec::by_name("resnet50", 0, 0).is_err());
        assert!(ModelSpec::by_name("bert-layer", 1, 0).is_err());
    }
}
