//! The stage-kind trait, typed for the kinds that implement it and erased for the engine that runs them.

use anyhow::Result;

use crate::context::TaskContext;
use crate::params::{parse_params, StageParams};
use crate::port::{InputPort, OutputPort};

/// A built-in stage kind.
///
/// Implementations are stateless values listed in a [`crate::Registry`]. `compute` is called in a
/// worker process; everything it needs comes through its parameters and the [`TaskContext`]. The engine
/// uses a kind through [`Kind`], which every `StageKind` is.
pub trait StageKind: Send + Sync + 'static {
    /// The parameters a stage of this kind takes.
    type Params: StageParams;
    /// The name used as `kind:` in pipeline files.
    fn name(&self) -> &'static str;
    /// Code version: bump it when the outputs for the same params and inputs change, so cached
    /// results are recomputed.
    fn version(&self) -> u32;
    /// One line describing the kind.
    fn about(&self) -> &'static str;
    /// Declared inputs.
    fn inputs(&self) -> &'static [InputPort];
    /// Declared outputs.
    fn outputs(&self) -> &'static [OutputPort];
    /// Reads and checks the resolved parameters: deserializes them (errors name the offending field),
    /// then runs their [`StageParams::validate`]. A kind whose checks need more than its parameters
    /// (a name that must be in a table of the kind's domain) overrides it.
    fn check_params(&self, params: &serde_json::Value) -> Result<Self::Params> {
        let p: Self::Params = parse_params(params)?;
        p.validate()?;
        Ok(p)
    }
    /// Whether a task with these parameters cannot run without a GPU.
    fn requires_gpu(&self, _params: &Self::Params) -> bool {
        false
    }
    /// Whether its tasks need libtorch, so run in the `pipe-torch` worker (see [`crate::torch_hook`]).
    fn needs_torch(&self) -> bool {
        false
    }
    /// Whether its tasks need the network (e.g. a download), so an executor or a sandbox must allow it.
    fn needs_network(&self) -> bool {
        false
    }
    /// Computes the outputs from checked parameters.
    fn compute(&self, params: Self::Params, ctx: &TaskContext) -> Result<()>;
}

/// A stage kind as the engine sees it: [`StageKind`] with its parameters as JSON, so kinds with
/// different parameter types sit in one [`crate::Registry`]. Every `StageKind` is a `Kind`.
pub trait Kind: Send + Sync {
    /// See [`StageKind::name`].
    fn name(&self) -> &'static str;
    /// See [`StageKind::version`].
    fn version(&self) -> u32;
    /// See [`StageKind::about`].
    fn about(&self) -> &'static str;
    /// See [`StageKind::inputs`].
    fn inputs(&self) -> &'static [InputPort];
    /// See [`StageKind::outputs`].
    fn outputs(&self) -> &'static [OutputPort];
    /// Checks the resolved parameters at plan time; errors name the offending field.
    fn check(&self, params: &serde_json::Value) -> Result<()>;
    /// Whether a task with these parameters cannot run without a GPU (false for parameters that do
    /// not check: planning reports those).
    fn requires_gpu(&self, params: &serde_json::Value) -> bool;
    /// See [`StageKind::needs_torch`].
    fn needs_torch(&self) -> bool;
    /// See [`StageKind::needs_network`].
    fn needs_network(&self) -> bool;
    /// Checks the task's parameters and computes its outputs.
    fn run(&self, ctx: &TaskContext) -> Result<()>;
}

impl<K: StageKind> Kind for K {
    fn name(&self) -> &'static str {
        StageKind::name(self)
    }
    fn version(&self) -> u32 {
        StageKind::version(self)
    }
    fn about(&self) -> &'static str {
        StageKind::about(self)
    }
    fn inputs(&self) -> &'static [InputPort] {
        StageKind::inputs(self)
    }
    fn outputs(&self) -> &'static [OutputPort] {
        StageKind::outputs(self)
    }
    fn check(&self, params: &serde_json::Value) -> Result<()> {
        StageKind::check_params(self, params).map(|_| ())
    }
    fn requires_gpu(&self, params: &serde_json::Value) -> bool {
        StageKind::check_params(self, params).is_ok_and(|p| StageKind::requires_gpu(self, &p))
    }
    fn needs_torch(&self) -> bool {
        StageKind::needs_torch(self)
    }
    fn needs_network(&self) -> bool {
        StageKind::needs_network(self)
    }
    fn run(&self, ctx: &TaskContext) -> Result<()> {
        let params = StageKind::check_params(self, &ctx.params)?;
        StageKind::compute(self, params, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Steps {
        steps: u32,
    }

    impl StageParams for Steps {
        fn validate(&self) -> Result<()> {
            anyhow::ensure!(self.steps > 0, "params.steps: must be at least 1");
            Ok(())
        }
    }

    struct Count;

    impl StageKind for Count {
        type Params = Steps;
        fn name(&self) -> &'static str {
            "count"
        }
        fn version(&self) -> u32 {
            1
        }
        fn about(&self) -> &'static str {
            "counts"
        }
        fn inputs(&self) -> &'static [InputPort] {
            &[]
        }
        fn outputs(&self) -> &'static [OutputPort] {
            &[]
        }
        fn requires_gpu(&self, p: &Steps) -> bool {
            p.steps > 10
        }
        fn compute(&self, p: Steps, _ctx: &TaskContext) -> Result<()> {
            anyhow::bail!("ran {} steps", p.steps)
        }
    }

    #[test]
    fn check_parses_then_validates() {
        let kind: &dyn Kind = &Count;
        assert!(kind.check(&serde_json::json!({"steps": 3})).is_ok());
        let e = kind.check(&serde_json::json!({"steps": 0})).unwrap_err();
        assert_eq!(e.to_string(), "params.steps: must be at least 1");
        let e = kind.check(&serde_json::json!({"step": 3})).unwrap_err();
        assert!(e.to_string().contains("unknown field `step`"), "{e}");
    }

    #[test]
    fn requires_gpu_sees_typed_params_and_is_false_for_bad_ones() {
        let kind: &dyn Kind = &Count;
        assert!(kind.requires_gpu(&serde_json::json!({"steps": 11})));
        assert!(!kind.requires_gpu(&serde_json::json!({"steps": 2})));
        assert!(!kind.requires_gpu(&serde_json::json!({"steps": "many"})));
    }

    #[test]
    fn run_receives_the_checked_params() {
        let kind: &dyn Kind = &Count;
        let mut ctx = TaskContext::for_test("count");
        ctx.params = serde_json::json!({"steps": 4});
        assert_eq!(kind.run(&ctx).unwrap_err().to_string(), "ran 4 steps");
        ctx.params = serde_json::json!({"steps": 0});
        assert_eq!(
            kind.run(&ctx).unwrap_err().to_string(),
            "params.steps: must be at least 1"
        );
    }
}
