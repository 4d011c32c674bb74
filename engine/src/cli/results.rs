//! `results/<pipeline>/`: links to a run's final outputs, so they can be found without cache keys.

use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::error::{io_error, PipeError};
use crate::plan::{axis_value, Plan, Reference, Selector};

/// Replaces `results/<pipeline name>/` with links to the outputs the pipeline's `results:` names (by
/// default, every output of the tasks nothing else reads). Returns the folder.
pub fn publish(plan: &Plan, cache: &Cache) -> Result<PathBuf, PipeError> {
    let dir = PathBuf::from("results").join(&plan.pipeline.name);
    clear_links(&dir)?;
    std::fs::create_dir_all(&dir).map_err(|e| io_error("cannot create", &dir, e))?;
    for (link, target) in links(plan, cache)? {
        let path = dir.join(link);
        replace_link(&target, &path).map_err(|e| io_error("cannot link", &path, e))?;
    }
    Ok(dir)
}

/// Points `path` at `target` in one step: a link made beside it under a name of this process's own,
/// then renamed over it. Two runs publishing the same pipeline at once (each clearing and relinking
/// the folder) then never fail on each other's links; a folder the other run removed meanwhile is
/// made again.
fn replace_link(target: &Path, path: &Path) -> std::io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    const ATTEMPTS: usize = 3;
    let mut attempt = 1;
    loop {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let _ = std::fs::remove_file(&tmp);
        match std::os::unix::fs::symlink(target, &tmp).and_then(|()| std::fs::rename(&tmp, path)) {
            Ok(()) => return Ok(()),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                if e.kind() != std::io::ErrorKind::NotFound || attempt == ATTEMPTS {
                    return Err(e);
                }
                attempt += 1;
            }
        }
    }
}

fn links(plan: &Plan, cache: &Cache) -> Result<Vec<(PathBuf, PathBuf)>, PipeError> {
    let mut out = Vec::new();
    if plan.pipeline.results.is_empty() {
        for (i, t) in plan.tasks.iter().enumerate() {
            if !plan.dependents(i).is_empty() {
                continue;
            }
            for (name, rel) in t.outputs.iter() {
                let target = cache.output_path(&t.key, rel);
                out.push((Path::new(&t.id).join(with_extension(name, &target)), target));
            }
        }
        return Ok(out);
    }
    for (label, text) in &plan.pipeline.results {
        let bad = |m: String| {
            PipeError::invalid(format!(
                "{}: results.{label}: {m}",
                plan.pipeline.path.display()
            ))
        };
        let r = Reference::parse(text).map_err(bad)?;
        let chosen: Vec<usize> = (0..plan.tasks.len())
            .filter(|&i| {
                let t = &plan.tasks[i];
                *t.stage == *r.stage
                    && match &r.selector {
                        None | Some(Selector::All) => true,
                        Some(Selector::Where(pairs)) => pairs.iter().all(|(a, v)| {
                            t.axes
                                .iter()
                                .any(|(ta, tv)| ta == a && axis_value(tv) == *v)
                        }),
                    }
            })
            .collect();
        if chosen.is_empty() {
            return Err(bad(format!("'{text}' matches no task")));
        }
        for i in &chosen {
            let t = &plan.tasks[*i];
            let rel = t
                .outputs
                .get(&r.output)
                .ok_or_else(|| bad(format!("stage '{}' has no output '{}'", t.stage, r.output)))?;
            let target = cache.output_path(&t.key, rel);
            let link = if chosen.len() == 1 {
                PathBuf::from(with_extension(label, &target))
            } else {
                Path::new(label).join(with_extension(&t.id, &target))
            };
            out.push((link, target));
        }
    }
    Ok(out)
}

/// `name` with the extension of the file `target` (`examples` and `.../examples.parquet` give
/// `examples.parquet`; a compressed `calls.vcf.gz` gives `.vcf.gz`), so tools that go by the
/// extension recognize the link; a folder, a file without one, or a name that has it already stays.
fn with_extension(name: &str, target: &Path) -> String {
    if target.is_dir() {
        return name.to_string();
    }
    let file = target.file_name().unwrap_or_default().to_string_lossy();
    let parts: Vec<&str> = file.split('.').collect();
    let ext = match parts.as_slice() {
        [_] | [] => return name.to_string(),
        [.., inner, last]
            if parts.len() > 2 && ["gz", "bgz", "zst", "bz2", "xz"].contains(last) =>
        {
            format!(".{inner}.{last}")
        }
        [.., last] => format!(".{last}"),
    };
    if name.ends_with(&ext) {
        name.to_string()
    } else {
        format!("{name}{ext}")
    }
}

/// Removes the links (and the folders holding only links) of an earlier publication; anything else
/// found there is left alone.
fn clear_links(dir: &Path) -> Result<(), PipeError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_symlink() {
            match std::fs::remove_file(&path) {
                // Another run publishing the same pipeline removed it first.
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_error("cannot remove", &path, e));
                }
                _ => {}
            }
        } else if ft.is_dir() {
            clear_links(&path)?;
            let _ = std::fs::remove_dir(&path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_extension_of_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, "").unwrap();
            path
        };
        assert_eq!(
            with_extension("examples", &file("examples.parquet")),
            "examples.parquet"
        );
        assert_eq!(
            with_extension("report", &file("report.html")),
            "report.html"
        );
        assert_eq!(with_extension("calls", &file("out.vcf.gz")), "calls.vcf.gz");
        assert_eq!(with_extension("t.csv", &file("x.csv")), "t.csv");
        assert_eq!(with_extension("o", &file("noext")), "o");
        assert_eq!(with_extension("figures", dir.path()), "figures");
        assert_eq!(
            with_extension("fit[variant=a]", &file("log.txt")),
            "fit[variant=a].txt"
        );
    }
}
