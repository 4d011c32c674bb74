//! `pipe run` flags that choose and configure the executor, merged with the pipeline's settings.

use clap::Args;

use crate::error::PipeError;
use crate::exec::{slurm, Executor};
use crate::spec::{ExecutorKind, Pipeline, SlurmSettings};

/// Executor flags of `pipe run`; each overrides the profile's setting, which overrides the file's.
#[derive(Debug, Args, Default)]
pub struct ExecutorArgs {
    /// Where tasks run: `local` worker processes or one `slurm` job per task (default: the
    /// pipeline's `executor:`, else local).
    #[arg(long, value_enum)]
    pub executor: Option<ExecutorKind>,
    /// Slurm: most jobs of this run in the queue at once (default 100).
    #[arg(long, value_name = "N")]
    pub max_jobs: Option<usize>,
    /// Slurm: partition to submit to.
    #[arg(long, value_name = "NAME")]
    pub slurm_partition: Option<String>,
    /// Slurm: account to charge.
    #[arg(long, value_name = "NAME")]
    pub slurm_account: Option<String>,
    /// Slurm: quality of service.
    #[arg(long, value_name = "NAME")]
    pub slurm_qos: Option<String>,
    /// Slurm: time limit of tasks whose stage sets no `resources.time`, e.g. `4:00:00`.
    #[arg(long, value_name = "TIME")]
    pub slurm_time: Option<String>,
    /// Slurm: memory of tasks whose stage sets no `resources.mem`, e.g. `16G`.
    #[arg(long, value_name = "MEM")]
    pub slurm_mem: Option<String>,
    /// Slurm: an extra sbatch option, one argument (repeatable), e.g. `--sbatch-option=--exclusive`.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_option: Vec<String>,
    /// Slurm: seconds between queue polls (default 5).
    #[arg(long, value_name = "SECONDS")]
    pub slurm_poll: Option<f64>,
}

impl ExecutorArgs {
    /// The executor for a run of `pipeline` with `profile`; for Slurm, checks the clients and the
    /// partition first.
    pub fn resolve(
        &self,
        pipeline: &Pipeline,
        profile: Option<&str>,
    ) -> Result<Executor, PipeError> {
        let profile = profile.and_then(|p| pipeline.profiles.get(p));
        let kind = self
            .executor
            .or(profile.and_then(|p| p.executor))
            .or(pipeline.executor)
            .unwrap_or_default();
        if kind == ExecutorKind::Local {
            return Ok(Executor::Local);
        }
        let flags = SlurmSettings {
            partition: self.slurm_partition.clone(),
            account: self.slurm_account.clone(),
            qos: self.slurm_qos.clone(),
            time: self.slurm_time.clone(),
            mem: self.slurm_mem.clone(),
            sbatch_options: self.sbatch_option.clone(),
            max_jobs: self.max_jobs,
            poll_seconds: self.slurm_poll,
        };
        let mut settings = pipeline.slurm.clone();
        if let Some(p) = profile {
            settings = settings.overridden_by(&p.slurm);
        }
        let settings = settings.overridden_by(&flags);
        if settings.max_jobs == Some(0) {
            return Err(PipeError::invalid("--max-jobs must be at least 1"));
        }
        slurm::preflight(&settings)?;
        Ok(Executor::Slurm(settings))
    }
}
