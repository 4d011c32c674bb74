//! `pipe inspect`: one example of an examples table drawn as a PNG, a panel per channel, with its id
//! and label.

mod render;

use std::path::{Path, PathBuf};

use arrow::array::{Int64Array, StringArray};
use clap::{Args, FromArgMatches};
use pipe_kind::{CommandError, DomainCommand};

use crate::data::examples::{column, ExamplesFile};
pub use render::render_example_png;

/// The `inspect` command.
pub struct Inspect;

/// Which example to draw, and where.
#[derive(Debug, Args)]
struct InspectArgs {
    /// An examples table (e.g. results/<pipeline>/... or a cache output).
    examples: PathBuf,
    /// The example's id, e.g. `chr20:10001019:T>G`.
    #[arg(long, conflicts_with = "pos")]
    id: Option<String>,
    /// The first example at this 1-based position, as in a VCF: `chr20:10001019`.
    #[arg(long, value_name = "CHROM:POS")]
    pos: Option<String>,
    /// Where to write the PNG.
    #[arg(long)]
    png: PathBuf,
}

impl DomainCommand for Inspect {
    fn command(&self) -> clap::Command {
        // `about` after the arguments: clap would take the args struct's doc comment otherwise.
        InspectArgs::augment_args(clap::Command::new("inspect")).about("Draw one example of an examples table as a PNG: a panel per channel, with its id and label")
    }

    fn run(&self, args: &clap::ArgMatches) -> Result<i32, CommandError> {
        let args = InspectArgs::from_arg_matches(args)
            .map_err(|e| CommandError::Invalid(e.to_string()))?;
        inspect(
            &args.examples,
            args.id.as_deref(),
            args.pos.as_deref(),
            &args.png,
        )
    }
}

/// What to look for: an id, a position (contig optional), or the first example.
enum Wanted<'a> {
    Id(&'a str),
    Position { chrom: String, pos: i64 },
    First,
}

impl<'a> Wanted<'a> {
    fn parse(id: Option<&'a str>, pos: Option<&str>) -> Result<Self, CommandError> {
        if let Some(id) = id {
            return Ok(Self::Id(id));
        }
        let Some(p) = pos else { return Ok(Self::First) };
        let (chrom, at) = p.rsplit_once(':').unwrap_or(("", p));
        let at: i64 = at.replace(',', "").parse().map_err(|_| {
            CommandError::Invalid(format!(
                "--pos '{p}': expected CHROM:POS, e.g. chr20:10001019"
            ))
        })?;
        Ok(Self::Position {
            chrom: chrom.to_string(),
            pos: at - 1,
        })
    }
}

fn inspect(
    examples: &Path,
    id: Option<&str>,
    pos: Option<&str>,
    png: &Path,
) -> Result<i32, CommandError> {
    let wanted = Wanted::parse(id, pos)?;
    let Some(row) = find_row(examples, &wanted)? else {
        let what = id
            .map(|i| format!("id '{i}'"))
            .unwrap_or_else(|| format!("position {}", pos.unwrap_or("")));
        return Err(CommandError::Invalid(format!(
            "{}: no example with {what}",
            examples.display()
        )));
    };
    let env =
        |e: anyhow::Error| CommandError::Environment(format!("{}: {e:#}", examples.display()));
    let file =
        ExamplesFile::open(examples).map_err(|e| CommandError::Environment(format!("{e:#}")))?;
    let shape = file.shape.clone();
    let example = file.read_row(row).map_err(env)?;
    render_example_png(&example, &shape, png)
        .map_err(|e| CommandError::Environment(format!("{e:#}")))?;
    let label = example
        .label
        .map(|l| l.to_string())
        .unwrap_or_else(|| "none".into());
    println!(
        "{}: {} ({}:{} {}>{}), label {label}, {}x{}x{} [{}]",
        png.display(),
        example.id,
        example.chrom,
        example.pos + 1,
        example.ref_allele,
        example.alt,
        shape.height,
        shape.width,
        shape.channels.len(),
        shape.channels.join(", ")
    );
    Ok(0)
}

/// The row of the first example that matches `wanted`, if any.
fn find_row(examples: &Path, wanted: &Wanted) -> Result<Option<usize>, CommandError> {
    if let Wanted::First = wanted {
        return Ok(Some(0));
    }
    let env =
        |e: anyhow::Error| CommandError::Environment(format!("{}: {e:#}", examples.display()));
    let batches = ExamplesFile::open(examples)
        .map_err(|e| CommandError::Environment(format!("{e:#}")))?
        .batches(4096, &["id", "chrom", "pos"])
        .map_err(env)?;
    let mut offset = 0;
    for batch in batches {
        let batch =
            batch.map_err(|e| CommandError::Environment(format!("{}: {e}", examples.display())))?;
        let ids: &StringArray = column(&batch, "id").map_err(env)?;
        let chroms: &StringArray = column(&batch, "chrom").map_err(env)?;
        let poss: &Int64Array = column(&batch, "pos").map_err(env)?;
        let hit = (0..batch.num_rows()).find(|&i| match wanted {
            Wanted::Id(id) => ids.value(i) == *id,
            Wanted::Position { chrom, pos } => {
                poss.value(i) == *pos && (chrom.is_empty() || chroms.value(i) == chrom)
            }
            Wanted::First => true,
        });
        if let Some(i) = hit {
            return Ok(Some(offset + i));
        }
        offset += batch.num_rows();
    }
    Ok(None)
}
