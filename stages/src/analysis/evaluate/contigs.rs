//! Contig naming checks: every contig a VCF or BED uses must be in the reference, and a name that
//! only differs by a `chr` prefix (`chr20` against `20`) is reported as a naming mismatch.

use anyhow::{bail, Result};

/// The same contig under the other naming convention (`chr20` <-> `20`, `chrM` <-> `MT`).
fn other_naming(name: &str) -> String {
    match name {
        "chrM" => "MT".to_string(),
        "MT" => "chrM".to_string(),
        _ => match name.strip_prefix("chr") {
            Some(rest) => rest.to_string(),
            None => format!("chr{name}"),
        },
    }
}

/// Checks that every contig in `used` (the contigs `what` has records or intervals on) is one of
/// `known` (the contigs of `known_what`); the error names the first one that is not, and says so
/// explicitly when the other file names it differently.
pub fn check<'a>(
    what: &str,
    used: impl IntoIterator<Item = &'a str>,
    known_what: &str,
    known: &dyn Fn(&str) -> bool,
) -> Result<()> {
    for contig in used {
        if known(contig) {
            continue;
        }
        let other = other_naming(contig);
        if known(&other) {
            bail!(
                "{what} names contig '{contig}' but {known_what} names it '{other}': the files use \
                 different contig naming (chr20 vs 20); rename the contigs of one of them (e.g. \
                 `bcftools annotate --rename-chrs`) so that all inputs agree"
            );
        }
        bail!(
            "{what} has records on contig '{contig}', which is not in {known_what}; use inputs made \
             against the same reference"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chr_prefix_mismatch_is_named_explicitly() {
        let known = |c: &str| c == "chr20";
        assert!(check("query VCF q.vcf", ["chr20"], "reference r.fa", &known).is_ok());
        let err = check("query VCF q.vcf", ["20"], "reference r.fa", &known)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "query VCF q.vcf names contig '20' but reference r.fa names it 'chr20'"
            ),
            "{err}"
        );
        let err = check("truth VCF t.vcf.gz", ["chr21"], "reference r.fa", &known)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("contig 'chr21', which is not in reference r.fa"),
            "{err}"
        );
        assert_eq!(other_naming("MT"), "chrM");
    }
}
