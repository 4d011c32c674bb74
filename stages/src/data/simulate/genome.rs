//! The simulated reference genome: contigs with GC isochores, homopolymers, short tandem repeats and a few
//! exactly duplicated segments (reads inside them map ambiguously, so they get mapping quality 0).

use std::ops::Range;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Bases of the first and last part of every contig left out of the confident regions (capped at a tenth
/// of the contig).
pub const END_MARGIN: usize = 1000;

/// One contig: its name and upper-case sequence.
#[derive(Debug, Clone)]
pub struct Contig {
    /// Name, e.g. `chr1`.
    pub name: String,
    /// Bases (`ACGT`).
    pub seq: Vec<u8>,
}

/// A segment copied verbatim to a second place on the same contig.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplication {
    /// Index of the contig.
    pub contig: usize,
    /// 0-based start of the original.
    pub source: usize,
    /// 0-based start of the copy.
    pub copy: usize,
    /// Length of both.
    pub len: usize,
}

impl Duplication {
    /// The two copies as 0-based half-open ranges.
    pub fn ranges(&self) -> [Range<usize>; 2] {
        [
            self.source..self.source + self.len,
            self.copy..self.copy + self.len,
        ]
    }
}

/// A simulated reference genome.
#[derive(Debug, Clone)]
pub struct Genome {
    /// Contigs in order.
    pub contigs: Vec<Contig>,
    /// Duplicated segments, sorted by contig and source.
    pub duplications: Vec<Duplication>,
}

/// How [`Genome::generate`] shapes the genome.
#[derive(Debug, Clone)]
pub struct GenomeSpec {
    /// Total length; split evenly over the contigs (the first ones take the remainder).
    pub genome_bp: usize,
    /// Number of contigs.
    pub contigs: usize,
    /// Contig names are this prefix and a 1-based number.
    pub contig_prefix: String,
}

impl Genome {
    /// Generates the genome from `rng`.
    pub fn generate(spec: &GenomeSpec, rng: &mut ChaCha8Rng) -> Self {
        let n = spec.contigs.max(1);
        let mut contigs = Vec::with_capacity(n);
        let mut duplications = Vec::new();
        for i in 0..n {
            let len = spec.genome_bp / n + usize::from(i < spec.genome_bp % n);
            let mut seq = background(len, rng);
            duplications.extend(duplicate_segments(&mut seq, i, rng));
            contigs.push(Contig {
                name: format!("{}{}", spec.contig_prefix, i + 1),
                seq,
            });
        }
        Self {
            contigs,
            duplications,
        }
    }

    /// Total length of all contigs.
    pub fn len(&self) -> usize {
        self.contigs.iter().map(|c| c.seq.len()).sum()
    }

    /// Whether the genome has no bases.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The confident regions of `contig`, sorted 0-based half-open ranges: the contig without its ends and
    /// without both copies of every duplicated segment.
    pub fn confident(&self, contig: usize) -> Vec<Range<usize>> {
        let len = self.contigs[contig].seq.len();
        let margin = END_MARGIN.min(len / 10);
        let mut holes: Vec<Range<usize>> = self
            .duplications
            .iter()
            .filter(|d| d.contig == contig)
            .flat_map(|d| d.ranges())
            .collect();
        holes.sort_by_key(|r| r.start);
        let mut out = Vec::new();
        let mut start = margin;
        for hole in holes {
            if hole.start > start {
                out.push(start..hole.start);
            }
            start = start.max(hole.end);
        }
        if len - margin > start {
            out.push(start..len - margin);
        }
        out
    }

    /// If `range` of `contig` lies entirely inside one copy of a duplicated segment, the signed shift that
    /// moves it onto the other copy.
    pub fn other_copy_shift(&self, contig: usize, range: &Range<usize>) -> Option<i64> {
        self.duplications
            .iter()
            .filter(|d| d.contig == contig)
            .find_map(|d| {
                let [a, b] = d.ranges();
                let shift = d.copy as i64 - d.source as i64;
                if a.start <= range.start && range.end <= a.end {
                    Some(shift)
                } else if b.start <= range.start && range.end <= b.end {
                    Some(-shift)
                } else {
                    None
                }
            })
    }

    /// Bases of `range` of `contig` that overlap a duplicated segment.
    pub fn duplicated_overlap(&self, contig: usize, range: &Range<usize>) -> usize {
        self.duplications
            .iter()
            .filter(|d| d.contig == contig)
            .flat_map(|d| d.ranges())
            .map(|r| {
                r.end
                    .min(range.end)
                    .saturating_sub(r.start.max(range.start))
            })
            .sum()
    }
}

/// A random base with GC probability `gc`.
fn base(gc: f64, rng: &mut ChaCha8Rng) -> u8 {
    let strong = rng.random_bool(gc);
    match (strong, rng.random_bool(0.5)) {
        (true, true) => b'G',
        (true, false) => b'C',
        (false, true) => b'A',
        (false, false) => b'T',
    }
}

/// Sequence with GC isochores (5-40 kb at 35-60% GC), homopolymer runs (about one per 400 bp, 6-14 bp) and
/// short tandem repeats (about one per 1.5 kb, units of 2-6 bp repeated to 12-48 bp).
fn background(len: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut seq = Vec::with_capacity(len);
    let mut gc = 0.45;
    let mut isochore_end = 0;
    while seq.len() < len {
        if seq.len() >= isochore_end {
            gc = rng.random_range(0.35..0.60);
            isochore_end = seq.len() + rng.random_range(5_000..40_000);
        }
        let roll: f64 = rng.random();
        if roll < 1.0 / 400.0 {
            let b = base(gc, rng);
            let run = rng.random_range(6..=14);
            seq.extend(std::iter::repeat_n(b, run));
        } else if roll < 1.0 / 400.0 + 1.0 / 1500.0 {
            let unit: Vec<u8> = (0..rng.random_range(2..=6))
                .map(|_| base(gc, rng))
                .collect();
            let total = rng.random_range(12..=48);
            seq.extend(unit.iter().cycle().take(total));
        } else {
            seq.push(base(gc, rng));
        }
    }
    seq.truncate(len);
    seq
}

/// Copies about one segment per 100 kb (at least one; 1.5-4 kb, at most a tenth of the contig) to another
/// place on the contig, away from its ends and from each other.
fn duplicate_segments(seq: &mut [u8], contig: usize, rng: &mut ChaCha8Rng) -> Vec<Duplication> {
    let len = seq.len();
    let margin = END_MARGIN.min(len / 10);
    let count = (len / 100_000).max(1);
    let mut taken: Vec<Range<usize>> = Vec::new();
    let mut out = Vec::new();
    for _ in 0..count {
        for _attempt in 0..100 {
            let dup_len = rng.random_range(1500..=4000).min(len / 10);
            let Some(space) = (len - margin).checked_sub(margin + dup_len) else {
                break;
            };
            let source = margin + rng.random_range(0..=space);
            let copy = margin + rng.random_range(0..=space);
            let gap = 1000;
            let a = source.saturating_sub(gap)..source + dup_len + gap;
            let b = copy.saturating_sub(gap)..copy + dup_len + gap;
            let clash = |r: &Range<usize>, s: &Range<usize>| r.start < s.end && s.start < r.end;
            if clash(&a, &b) || taken.iter().any(|t| clash(t, &a) || clash(t, &b)) {
                continue;
            }
            seq.copy_within(source..source + dup_len, copy);
            taken.extend([a, b]);
            out.push(Duplication {
                contig,
                source,
                copy,
                len: dup_len,
            });
            break;
        }
    }
    out.sort_by_key(|d| d.source);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn genome() -> Genome {
        let spec = GenomeSpec {
            genome_bp: 60_000,
            contigs: 2,
            contig_prefix: "sim".into(),
        };
        Genome::generate(&spec, &mut ChaCha8Rng::seed_from_u64(7))
    }

    #[test]
    fn contigs_split_the_length_and_duplicates_are_exact() {
        let g = genome();
        assert_eq!(g.len(), 60_000);
        assert_eq!(g.contigs[1].name, "sim2");
        assert_eq!(g.duplications.len(), 2);
        for d in &g.duplications {
            let s = &g.contigs[d.contig].seq;
            let [a, b] = d.ranges();
            assert_eq!(s[a], s[b]);
        }
    }

    #[test]
    fn confident_regions_skip_ends_and_duplicates() {
        let g = genome();
        for c in 0..2 {
            let conf = g.confident(c);
            assert_eq!(conf[0].start, 1000);
            assert_eq!(conf.last().unwrap().end, 29_000);
            for r in &conf {
                assert_eq!(g.duplicated_overlap(c, r), 0);
            }
            let total: usize = conf.iter().map(|r| r.len()).sum();
            let dup: usize = g
                .duplications
                .iter()
                .filter(|d| d.contig == c)
                .map(|d| 2 * d.len)
                .sum();
            assert_eq!(total, 28_000 - dup);
        }
    }

    #[test]
    fn gc_varies_and_homopolymers_exist() {
        let g = genome();
        let s = &g.contigs[0].seq;
        let gc: Vec<f64> = s
            .chunks(2000)
            .map(|w| w.iter().filter(|b| matches!(b, b'G' | b'C')).count() as f64 / w.len() as f64)
            .collect();
        let (lo, hi) = gc
            .iter()
            .fold((1.0f64, 0.0f64), |(l, h), &x| (l.min(x), h.max(x)));
        assert!(hi - lo > 0.05, "{lo} {hi}");
        assert!(s.windows(8).any(|w| w.iter().all(|&b| b == w[0])));
    }
}
