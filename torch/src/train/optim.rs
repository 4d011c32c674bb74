//! Adam, AdamW and SGD with momentum, written with tensor ops so that their state can be checkpointed
//! (tch's optimizers keep it inside libtorch, out of reach). The update rules are PyTorch's
//! (`torch.optim.Adam/AdamW/SGD`, defaults betas (0.9, 0.999), eps 1e-8, no amsgrad, no dampening).

use anyhow::{bail, Result};
use tch::{nn, Tensor};

use pipe_stages::train::params::OptimizerKind;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// One trainable variable and its optimizer state.
struct Slot {
    name: String,
    param: Tensor,
    /// Adam: exp_avg, exp_avg_sq; SGD: momentum_buffer.
    state: Vec<Tensor>,
}

/// An optimizer over the trainable variables of a var store.
pub struct Optimizer {
    kind: OptimizerKind,
    weight_decay: f64,
    momentum: f64,
    slots: Vec<Slot>,
    /// Steps taken.
    pub steps: i64,
}

impl Optimizer {
    /// Creates the optimizer with zeroed state over `vs`'s trainable variables, in name order.
    pub fn new(vs: &nn::VarStore, kind: OptimizerKind, weight_decay: f64, momentum: f64) -> Self {
        let mut vars: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let n_state = match kind {
            OptimizerKind::Adam | OptimizerKind::Adamw => 2,
            OptimizerKind::Sgd => usize::from(momentum > 0.0),
        };
        let slots = vars
            .into_iter()
            .map(|(name, param)| {
                let state = (0..n_state).map(|_| param.zeros_like()).collect();
                Slot { name, param, state }
            })
            .collect();
        Self {
            kind,
            weight_decay,
            momentum,
            slots,
            steps: 0,
        }
    }

    /// Clears every gradient.
    pub fn zero_grad(&mut self) {
        for s in &mut self.slots {
            let mut g = s.param.grad();
            if g.defined() {
                let _ = g.detach_();
                let _ = g.zero_();
            }
        }
    }

    /// One update with learning rate `lr`.
    pub fn step(&mut self, lr: f64) {
        self.steps += 1;
        let t = self.steps as f64;
        let (kind, wd, momentum) = (self.kind, self.weight_decay, self.momentum);
        tch::no_grad(|| {
            for s in &mut self.slots {
                let grad = s.param.grad();
                if !grad.defined() {
                    continue;
                }
                let p = &mut s.param;
                match kind {
                    OptimizerKind::Adam | OptimizerKind::Adamw => {
                        let g = if kind == OptimizerKind::Adam && wd != 0.0 {
                            &grad + &*p * wd
                        } else {
                            grad
                        };
                        if kind == OptimizerKind::Adamw && wd != 0.0 {
                            let _ = p.g_mul_scalar_(1.0 - lr * wd);
                        }
                        let (m, rest) = s.state.split_at_mut(1);
                        let (m, v) = (&mut m[0], &mut rest[0]);
                        let _ = m.lerp_(&g, 1.0 - BETA1);
                        let _ = v.g_mul_scalar_(BETA2);
                        let _ = v.g_add_(&(&g * &g * (1.0 - BETA2)));
                        let bc1 = 1.0 - BETA1.powf(t);
                        let bc2_sqrt = (1.0 - BETA2.powf(t)).sqrt();
                        let denom = v.sqrt() / bc2_sqrt + EPS;
                        let _ = p.g_sub_(&(&*m / denom * (lr / bc1)));
                    }
                    OptimizerKind::Sgd => {
                        let mut d = if wd != 0.0 { &grad + &*p * wd } else { grad };
                        if let Some(buf) = s.state.first_mut() {
                            // The first step's buffer is the gradient itself; zeros * momentum + d is that.
                            let _ = buf.g_mul_scalar_(momentum);
                            let _ = buf.g_add_(&d);
                            d = buf.shallow_clone();
                        }
                        let _ = p.g_sub_(&(d * lr));
                    }
                }
            }
        });
    }

    /// State tensors named `<variable>#<index>`, for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.slots
            .iter()
            .flat_map(|s| {
                s.state
                    .iter()
                    .enumerate()
                    .map(move |(i, t)| (format!("{}#{i}", s.name), t.shallow_clone()))
            })
            .collect()
    }

    /// Restores state saved by [`Optimizer::state`].
    pub fn load_state(&mut self, saved: Vec<(String, Tensor)>, steps: i64) -> Result<()> {
        let mut saved: std::collections::HashMap<String, Tensor> = saved.into_iter().collect();
        for s in &mut self.slots {
            for (i, t) in s.state.iter_mut().enumerate() {
                let key = format!("{}#{i}", s.name);
                let Some(v) = saved.remove(&key) else {
                    bail!("optimizer state '{key}' is missing from the checkpoint");
                };
                if v.size() != t.size() {
                    bail!(
                        "optimizer state '{key}' has shape {:?}, expected {:?}",
                        v.size(),
                        t.size()
                    );
                }
                tch::no_grad(|| t.copy_(&v));
            }
        }
        self.steps = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    const TORCH: &str = r#"
import json, sys, torch
out = {}
for name, make in [("adam", lambda p: torch.optim.Adam(p, lr=0.1, weight_decay=0.01)),
                   ("adamw", lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.01)),
                   ("sgd", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01))]:
    w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    opt = make([w])
    for t in range(6):
        opt.zero_grad()
        (((w - torch.tensor([1.0, 2.0, 3.0])) ** 2) * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
        opt.step()
    out[name] = w.tolist()
print(json.dumps(out))
"#;

    #[test]
    fn updates_match_pytorch() {
        let Some(python) = std::env::var_os("PIPE_PYTHON") else {
            pipe_testkit::skip("PIPE_PYTHON is not set (needs torch)");
            return;
        };
        let out = std::process::Command::new(python)
            .args(["-c", TORCH])
            .output()
            .unwrap();
        if !out.status.success() {
            pipe_testkit::skip("PIPE_PYTHON cannot run torch");
            return;
        }
        let expected: std::collections::HashMap<String, Vec<f64>> =
            serde_json::from_slice(&out.stdout).unwrap();
        for (name, kind) in [
            ("adam", OptimizerKind::Adam),
            ("adamw", OptimizerKind::Adamw),
            ("sgd", OptimizerKind::Sgd),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs
                .root()
                .var_copy("w", &Tensor::from_slice(&[0.5f32, -1.0, 2.0]));
            let target = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
            let scale = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
            let mut opt = Optimizer::new(&vs, kind, 0.01, 0.9);
            for _ in 0..6 {
                opt.zero_grad();
                ((&w - &target).square() * &scale)
                    .sum(Kind::Float)
                    .backward();
                opt.step(0.1);
            }
            let got: Vec<f64> = Vec::try_from(w.to_kind(Kind::Double)).unwrap();
            for (g, e) in got.iter().zip(&expected[name]) {
                assert!(
                    (g - e).abs() < 1e-5,
                    "{name}: {got:?} vs torch {:?}",
                    expected[name]
                );
            }
        }
    }
}
