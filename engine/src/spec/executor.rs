//! Executor settings of a pipeline file: `executor:` and `slurm:`, at the top level or in a profile.

use serde::Deserialize;

/// Where tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// Worker processes on this machine.
    #[default]
    Local,
    /// One Slurm batch job per task.
    Slurm,
}

/// Settings of the Slurm executor. Every field is optional; command-line flags override the profile,
/// which overrides the top level.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlurmSettings {
    /// `sbatch --partition`.
    pub partition: Option<String>,
    /// `sbatch --account`.
    pub account: Option<String>,
    /// `sbatch --qos`.
    pub qos: Option<String>,
    /// Time limit of tasks whose stage sets no `resources.time` (e.g. `4:00:00`).
    pub time: Option<String>,
    /// Memory of tasks whose stage sets no `resources.mem` (e.g. `16G`).
    pub mem: Option<String>,
    /// Extra `sbatch` options, one argument each (e.g. `["--constraint=a100", "--exclusive"]`).
    #[serde(default)]
    pub sbatch_options: Vec<String>,
    /// Most jobs of one run in the queue at once.
    pub max_jobs: Option<usize>,
    /// Seconds between queue polls.
    pub poll_seconds: Option<f64>,
}

impl SlurmSettings {
    /// `self` with every field that `over` sets replaced by its value (options are appended).
    pub fn overridden_by(&self, over: &SlurmSettings) -> SlurmSettings {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        SlurmSettings {
            partition: pick(&self.partition, &over.partition),
            account: pick(&self.account, &over.account),
            qos: pick(&self.qos, &over.qos),
            time: pick(&self.time, &over.time),
            mem: pick(&self.mem, &over.mem),
            sbatch_options: self
                .sbatch_options
                .iter()
                .chain(&over.sbatch_options)
                .cloned()
                .collect(),
            max_jobs: over.max_jobs.or(self.max_jobs),
            poll_seconds: over.poll_seconds.or(self.poll_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_settings_win_and_options_append() {
        let base: SlurmSettings =
            serde_yaml::from_str("{partition: cpu, time: '1:00:00', sbatch_options: [--a]}")
                .unwrap();
        let over: SlurmSettings =
            serde_yaml::from_str("{partition: gpu, sbatch_options: [--b]}").unwrap();
        let s = base.overridden_by(&over);
        assert_eq!(s.partition.as_deref(), Some("gpu"));
        assert_eq!(s.time.as_deref(), Some("1:00:00"));
        assert_eq!(s.sbatch_options, ["--a", "--b"]);
    }

    #[test]
    fn unknown_setting_is_rejected() {
        let err = serde_yaml::from_str::<SlurmSettings>("{partiton: gpu}").unwrap_err();
        assert!(err.to_string().contains("partition"), "{err}");
    }
}
