//! One task as one `sbatch` job: the job script and the `sbatch` arguments.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::spec::{Resources, SlurmSettings};

/// The job script: it runs its arguments, so no value is ever pasted into shell text.
const JOB_SCRIPT: &str = "#!/bin/sh\n\
# Written by pipe: one task's worker as a Slurm batch job.\n\
# sbatch passes the command as arguments: <pipe binary> __worker <task.json>.\n\
exec \"$@\"\n";

/// What to submit for one task.
#[derive(Debug)]
pub struct JobRequest<'a> {
    /// Pipeline name (part of the job name).
    pub pipeline: &'a str,
    /// Task id (part of the job name).
    pub task: &'a str,
    /// What the task's stage asks for.
    pub resources: &'a Resources,
    /// The task's private directory, where `job.sh`, `log.txt` and the worker's stdout go.
    pub tmp: &'a Path,
    /// The task's `task.json`.
    pub spec_path: &'a Path,
    /// The `pipe` binary the job runs (it must be visible on the compute nodes).
    pub exe: &'a Path,
}

/// Writes `job.sh` into the task's directory; returns its path.
pub fn write_script(tmp: &Path) -> Result<PathBuf, String> {
    let path = tmp.join("job.sh");
    std::fs::write(&path, JOB_SCRIPT)
        .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The `sbatch` arguments for `req`: settings, then resources, then the extra options (so they can
/// override), then the script and the worker command.
pub fn sbatch_args(settings: &SlurmSettings, req: &JobRequest, script: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "--parsable".into(),
        format!("--job-name=pipe:{}:{}", req.pipeline, req.task).into(),
        path_arg("--output=", &req.tmp.join("stdout.txt")),
        path_arg("--error=", &req.tmp.join("log.txt")),
        format!("--cpus-per-task={}", req.resources.cpus.max(1)).into(),
    ];
    if req.resources.gpu > 0 {
        args.push(format!("--gres=gpu:{}", req.resources.gpu).into());
    }
    if let Some(mem) = req.resources.mem.as_ref().or(settings.mem.as_ref()) {
        args.push(format!("--mem={mem}").into());
    }
    if let Some(time) = req.resources.time.as_ref().or(settings.time.as_ref()) {
        args.push(format!("--time={time}").into());
    }
    for (flag, value) in [
        ("--partition=", &settings.partition),
        ("--account=", &settings.account),
        ("--qos=", &settings.qos),
    ] {
        if let Some(v) = value {
            args.push(format!("{flag}{v}").into());
        }
    }
    args.extend(settings.sbatch_options.iter().map(OsString::from));
    args.push(script.into());
    args.push(req.exe.into());
    args.push("__worker".into());
    args.push(req.spec_path.into());
    args
}

fn path_arg(flag: &str, path: &Path) -> OsString {
    let mut s = OsString::from(flag);
    s.push(path);
    s
}

/// Submits `req` with `sbatch --parsable`; returns the job id.
pub fn submit(settings: &SlurmSettings, req: &JobRequest) -> Result<u64, String> {
    let script = write_script(req.tmp)?;
    let threads = req.resources.cpus.max(1).to_string();
    let out = Command::new("sbatch")
        .args(sbatch_args(settings, req, &script))
        .stdin(Stdio::null())
        // Slurm sets CUDA_VISIBLE_DEVICES for jobs given GPUs; never pass on this shell's.
        .env_remove("CUDA_VISIBLE_DEVICES")
        .env("OMP_NUM_THREADS", &threads)
        .env("MKL_NUM_THREADS", &threads)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                "cannot submit: 'sbatch' not found on PATH (run pipe where the Slurm clients are installed, or use --executor local)".to_string()
            } else {
                format!("cannot run sbatch: {e}")
            }
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "sbatch refused task {}: {}",
            req.task,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // `--parsable` prints `<id>` or `<id>;<cluster>`.
    stdout
        .trim()
        .split(';')
        .next()
        .and_then(|id| id.trim().parse().ok())
        .ok_or_else(|| {
            format!(
                "sbatch printed no job id for task {}: '{}'",
                req.task,
                stdout.trim()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn resources_and_settings_become_sbatch_options() {
        let resources = Resources {
            cpus: 4,
            gpu: 2,
            mem: Some("16G".into()),
            time: None,
        };
        let settings = SlurmSettings {
            partition: Some("gpu".into()),
            time: Some("1:00:00".into()),
            mem: Some("4G".into()),
            sbatch_options: vec!["--constraint=a100".into()],
            ..Default::default()
        };
        let req = JobRequest {
            pipeline: "study",
            task: "train[arch=a; rm -rf /,fold=0]",
            resources: &resources,
            tmp: Path::new("/c/.tmp/k.1"),
            spec_path: Path::new("/c/.tmp/k.1/task.json"),
            exe: Path::new("/bin/pipe"),
        };
        let args = strings(&sbatch_args(
            &settings,
            &req,
            Path::new("/c/.tmp/k.1/job.sh"),
        ));
        assert_eq!(
            args,
            [
                "--parsable",
                "--job-name=pipe:study:train[arch=a; rm -rf /,fold=0]",
                "--output=/c/.tmp/k.1/stdout.txt",
                "--error=/c/.tmp/k.1/log.txt",
                "--cpus-per-task=4",
                "--gres=gpu:2",
                "--mem=16G",
                "--time=1:00:00",
                "--partition=gpu",
                "--constraint=a100",
                "/c/.tmp/k.1/job.sh",
                "/bin/pipe",
                "__worker",
                "/c/.tmp/k.1/task.json",
            ]
        );
    }

    #[test]
    fn job_script_only_runs_its_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let script = write_script(dir.path()).unwrap();
        let out = Command::new(&script)
            .args(["echo", "$HOME;", "`id`"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "$HOME; `id`\n");
    }
}
