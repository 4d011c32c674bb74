//! `pipe models`: every architecture of the model zoo with its parameter count and forward GFLOPs, so
//! users can choose what to train.

use clap::{Args, FromArgMatches, ValueEnum};
use pipe_kind::{torch_hook, CommandError, DomainCommand};

use crate::train::architectures;

/// The `models` command. Building the models needs libtorch, so it runs in `pipe-torch`.
pub struct Models;

impl DomainCommand for Models {
    fn command(&self) -> clap::Command {
        // `about` after the arguments: clap would take the args struct's doc comment otherwise.
        ModelsArgs::augment_args(clap::Command::new("models")).about(
            "List the model zoo: every architecture with its parameter count and forward GFLOPs",
        )
    }

    fn needs_torch(&self) -> bool {
        true
    }

    fn run(&self, args: &clap::ArgMatches) -> Result<i32, CommandError> {
        let args =
            ModelsArgs::from_arg_matches(args).map_err(|e| CommandError::Invalid(e.to_string()))?;
        models(&args)
    }
}

/// Input shape and output format of `pipe models`.
#[derive(Debug, Args)]
struct ModelsArgs {
    /// Channels of the input image (DeepVariant's WGS model has 7).
    #[arg(long, default_value_t = 7)]
    channels: i64,
    /// Classes of the head (hom-ref, het, hom-alt).
    #[arg(long, default_value_t = 3)]
    classes: i64,
    /// Input height for GFLOPs (the study pads 100 to 224).
    #[arg(long, default_value_t = 224)]
    height: i64,
    /// Input width for GFLOPs (the study pads 221 to 224).
    #[arg(long, default_value_t = 224)]
    width: i64,
    /// Only these architectures (repeatable); default: all.
    #[arg(long = "arch", value_name = "ARCH")]
    archs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: ModelsFormat,
}

/// How `pipe models` prints its table.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModelsFormat {
    /// Aligned columns for reading.
    Text,
    /// Comma-separated with a header, for scripts.
    Csv,
}

/// Prints the table; errors name an unknown architecture or an input too small for a model.
fn models(args: &ModelsArgs) -> Result<i32, CommandError> {
    let Some(hooks) = torch_hook::installed() else {
        return Err(CommandError::Invalid(
            "pipe models builds the models with libtorch: run it as pipe-torch models".into(),
        ));
    };
    if args.channels < 1 || args.classes < 1 || args.height < 1 || args.width < 1 {
        return Err(CommandError::Invalid(
            "pipe models: --channels, --classes, --height and --width must be at least 1".into(),
        ));
    }
    let archs: Vec<String> = if args.archs.is_empty() {
        architectures::names()
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        args.archs.clone()
    };
    let gflops_header = format!("gflops_{}x{}x{}", args.channels, args.height, args.width);
    match args.format {
        ModelsFormat::Text => println!(
            "{:<20} {:<13} {:>14} {:>20}",
            "arch", "family", "params", gflops_header
        ),
        ModelsFormat::Csv => println!("arch,family,params,{gflops_header}"),
    }
    for arch in &archs {
        let s = (hooks.summarize)(arch, args.channels, args.classes, args.height, args.width)
            .map_err(|e| CommandError::Invalid(format!("pipe models: {e:#}")))?;
        match args.format {
            ModelsFormat::Text => println!(
                "{:<20} {:<13} {:>14} {:>20.4}",
                s.arch,
                s.family,
                thousands(s.params),
                s.gflops
            ),
            ModelsFormat::Csv => println!("{},{},{},{:.4}", s.arch, s.family, s.params, s.gflops),
        }
    }
    Ok(0)
}

/// `21792867` → `21,792,867`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn groups_digits_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(21792867), "21,792,867");
        assert_eq!(thousands(-1234), "-1,234");
    }
}
