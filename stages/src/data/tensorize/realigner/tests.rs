//! The realigner end to end on small constructed cases.

use super::*;
use noodles::sam::alignment::record::cigar::op::Kind;

/// Deterministic pseudo-random bases (no homopolymer longer than 2, so flanks stay unique).
fn random_bases(n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out: Vec<u8> = Vec::with_capacity(n);
    while out.len() < n {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let b = b"ACGT"[(state >> 33) as usize % 4];
        if out.len() >= 2 && out[out.len() - 1] == b && out[out.len() - 2] == b {
            continue;
        }
        out.push(b);
    }
    out
}

fn read(name: &str, start: i64, bases: &[u8], cigar: &[(Kind, usize)]) -> AlignedRead {
    let span: usize = cigar
        .iter()
        .filter(|(k, _)| k.consumes_reference())
        .map(|(_, n)| n)
        .sum();
    AlignedRead {
        name: name.as_bytes().to_vec(),
        read_number: 0,
        start,
        end: start + span as i64,
        reverse: false,
        mapq: 60,
        tlen: 0,
        hp: None,
        cigar: cigar
            .iter()
            .map(|&(kind, len)| CigarOp { kind, len })
            .collect(),
        quals: vec![30; bases.len()],
        bases: bases.to_vec(),
    }
}

/// Mismatches of the read's aligned bases against the reference.
fn mismatches(r: &AlignedRead, reference: &ReferenceSlice) -> usize {
    let (mut pos, mut i, mut n) = (r.start, 0usize, 0usize);
    for op in &r.cigar {
        match op.kind {
            Kind::Match => {
                n += (0..op.len)
                    .filter(|&k| r.bases[i + k] != reference.base(pos + k as i64))
                    .count();
                pos += op.len as i64;
                i += op.len;
            }
            Kind::Insertion | Kind::SoftClip => i += op.len,
            Kind::Deletion => pos += op.len as i64,
            _ => {}
        }
    }
    n
}

fn slice(bases: &[u8]) -> ReferenceSlice {
    ReferenceSlice {
        start: 0,
        bases: bases.to_vec(),
    }
}

/// Reference: 150 random bases, 8 A's at 150..158, 150 random bases. The sample deletes one A.
struct Homopolymer {
    reference: Vec<u8>,
    reads: Vec<AlignedRead>,
}

fn homopolymer_case() -> Homopolymer {
    let mut left = random_bases(150, 1);
    let mut right = random_bases(150, 2);
    left[149] = b'C';
    right[0] = b'G';
    let reference = [&left[..], b"AAAAAAAA", &right[..]].concat();
    let alt = [&left[..], b"AAAAAAA", &right[..]].concat();
    let mut reads = Vec::new();
    // Six reads with the deletion, left-aligned at the start of the run.
    for k in 0..6 {
        let s = 95 + 2 * k;
        let before = 150 - s;
        reads.push(read(
            &format!("del{k}"),
            s as i64,
            &alt[s..s + 100],
            &[
                (Kind::Match, before),
                (Kind::Deletion, 1),
                (Kind::Match, 100 - before),
            ],
        ));
    }
    for k in 0..4 {
        let s = 105 + 3 * k;
        reads.push(read(
            &format!("ref{k}"),
            s as i64,
            &reference[s..s + 100],
            &[(Kind::Match, 100)],
        ));
    }
    // The misaligned read: it ends 13 bases past the run and was aligned without a gap, so its last
    // 13 bases sit one base off.
    reads.push(read(
        "misaligned",
        120,
        &alt[120..170],
        &[(Kind::Match, 50)],
    ));
    Homopolymer { reference, reads }
}

#[test]
fn a_misaligned_deletion_at_the_end_of_a_homopolymer_is_realigned_to_the_haplotype() {
    let case = homopolymer_case();
    let reference = slice(&case.reference);
    let reads: Vec<&AlignedRead> = case.reads.iter().collect();
    let len = case.reference.len() as i64;
    let before = mismatches(&case.reads[10], &reference);
    assert!(before > 2, "{before} mismatches before realignment");
    let result = realign(&reads, &reference, len, 0, len, &Options::default());
    let new = &result.reads;
    // DeepVariant's order: the reads of no window (here none), then the window's reads.
    let mut order = result.order.clone();
    order.sort_unstable();
    assert_eq!(order, (0..reads.len()).collect::<Vec<_>>());
    let realigned = new[10].as_ref().expect("the misaligned read is realigned");
    assert_eq!(realigned.start, 120);
    assert_eq!(
        realigned.cigar,
        [
            CigarOp {
                kind: Kind::Match,
                len: 30
            },
            CigarOp {
                kind: Kind::Deletion,
                len: 1
            },
            CigarOp {
                kind: Kind::Match,
                len: 20
            },
        ]
    );
    assert_eq!(realigned.end, 171);
    assert_eq!(mismatches(realigned, &reference), 0);
    assert_eq!(realigned.bases, case.reads[10].bases);
    // The reads that were aligned right keep their alignments.
    assert!(new[..10].iter().all(Option::is_none), "{new:?}");
    // Reads longer than the limit are left as they are.
    let o = Options {
        max_read_length: 49,
        ..Options::default()
    };
    assert!(realign(&reads, &reference, len, 0, len, &o).reads[10].is_none());
}

#[test]
fn a_window_without_variation_is_left_untouched() {
    let bases = random_bases(400, 3);
    let reference = slice(&bases);
    let mut reads: Vec<AlignedRead> = (0..20)
        .map(|k| {
            let s = 50 + 10 * k;
            read(
                &format!("r{k}"),
                s as i64,
                &bases[s..s + 100],
                &[(Kind::Match, 100)],
            )
        })
        .collect();
    // Two scattered sequencing errors.
    for (r, i) in [(3, 40), (11, 70)] {
        let b = &mut reads[r].bases[i];
        *b = if *b == b'A' { b'C' } else { b'A' };
    }
    let refs: Vec<&AlignedRead> = reads.iter().collect();
    let o = Options::default();
    assert!(select_windows(&refs, &reference, 400, 0, 400, &o.window).is_empty());
    let result = realign(&refs, &reference, 400, 0, 400, &o);
    assert!(result.reads.iter().all(Option::is_none));
    assert_eq!(result.order, (0..refs.len()).collect::<Vec<_>>());
}

#[test]
fn a_repeat_that_keeps_the_graph_cyclic_at_every_k_is_skipped() {
    // 10 CA units in the reference; the reads carry 60, far longer than the largest k.
    let left = random_bases(300, 4);
    let right = random_bases(300, 5);
    let unit = b"CA";
    let repeat = |n: usize| unit.repeat(n);
    let reference = [&left[..], &repeat(10), &right[..]].concat();
    let expanded = [&left[240..], &repeat(60), &right[..40]].concat();
    let reads: Vec<AlignedRead> = (0..3)
        .map(|k| {
            read(
                &format!("rep{k}"),
                240,
                &expanded,
                &[(Kind::Match, 80), (Kind::Insertion, 100), (Kind::Match, 40)],
            )
        })
        .collect();
    let refs: Vec<&AlignedRead> = reads.iter().collect();
    let reference = slice(&reference);
    let len = reference.bases.len() as i64;
    let o = Options::default();
    let windows = select_windows(&refs, &reference, len, 0, len, &o.window);
    assert_eq!(windows.len(), 1, "the insertions open a window");
    let (ws, we) = windows[0];
    let window = reference.window(ws, we);
    assert!(Graph::build(&window, &refs, &o.graph).is_none());
    assert!(realign(&refs, &reference, len, 0, len, &o)
        .reads
        .iter()
        .all(Option::is_none));
}
