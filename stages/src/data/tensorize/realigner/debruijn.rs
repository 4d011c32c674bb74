//! Local assembly: a De Bruijn graph of a window's reference and its reads' k-mers, and the candidate
//! haplotypes it spells (DeepVariant's `DeBruijnGraph`).
//!
//! `k` starts at the smallest value ≥ `min_k` (10) at which the reference has no repeated k-mer and
//! grows by `step_k` (1) up to `max_k` (101, or the window length − 1) until the graph of reference
//! plus reads is acyclic; a window whose graph stays cyclic has no graph. Reads with MAPQ ≥ 14
//! contribute the k-mers of their stretches of ACGT bases of quality ≥ 15, soft-clipped bases included.
//! Non-reference edges seen in fewer than `min_edge_weight` (2) reads are pruned, then every vertex not
//! on a path from the reference's first k-mer to its last. Each such path is a candidate haplotype;
//! more than `max_num_paths` (256) paths give none.

use std::collections::HashMap;

use super::super::pileup::read::AlignedRead;

/// Graph settings (DeepVariant's `dbg_*` defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphOptions {
    /// Smallest k tried.
    pub min_k: usize,
    /// Largest k tried.
    pub max_k: usize,
    /// Increment of k.
    pub step_k: usize,
    /// Reads below this mapping quality add no k-mers.
    pub min_mapq: u8,
    /// Bases below this quality end a stretch of usable k-mers.
    pub min_base_quality: u8,
    /// Non-reference edges with fewer supporting reads are pruned.
    pub min_edge_weight: u32,
    /// Most haplotypes a window may have.
    pub max_num_paths: usize,
}

impl Default for GraphOptions {
    fn default() -> Self {
        Self {
            min_k: 10,
            max_k: 101,
            step_k: 1,
            min_mapq: 14,
            min_base_quality: 15,
            min_edge_weight: 2,
            max_num_paths: 256,
        }
    }
}

/// An edge to `to` seen `weight` times, `is_ref` when the reference has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Edge {
    to: usize,
    weight: u32,
    is_ref: bool,
}

/// A De Bruijn graph of k-mers borrowed from the reference and reads.
#[derive(Debug)]
pub struct Graph<'a> {
    /// The k-mer size.
    pub k: usize,
    kmers: Vec<&'a [u8]>,
    index: HashMap<&'a [u8], usize>,
    out: Vec<Vec<Edge>>,
    source: usize,
    sink: usize,
}

impl<'a> Graph<'a> {
    /// The graph of the smallest workable k for `reference` and `reads`, pruned, or `None` when every k
    /// leaves a cycle (or the reference repeats a k-mer at every k).
    pub fn build(reference: &'a [u8], reads: &[&'a AlignedRead], o: &GraphOptions) -> Option<Self> {
        let max_k = o.max_k.min(reference.len().saturating_sub(1));
        let step = o.step_k.max(1);
        let min_k = (o.min_k..=max_k)
            .step_by(step)
            .find(|&k| !has_repeated_kmer(reference, k))?;
        (min_k..=max_k).step_by(step).find_map(|k| {
            let mut g = Self::unpruned(reference, reads, k, o);
            (!g.has_cycle()).then(|| {
                g.prune(o.min_edge_weight);
                g
            })
        })
    }

    fn unpruned(
        reference: &'a [u8],
        reads: &[&'a AlignedRead],
        k: usize,
        o: &GraphOptions,
    ) -> Self {
        let mut g = Self {
            k,
            kmers: Vec::new(),
            index: HashMap::new(),
            out: Vec::new(),
            source: 0,
            sink: 0,
        };
        g.add_path(reference, true);
        g.source = g.index[&reference[..k]];
        g.sink = g.index[&reference[reference.len() - k..]];
        for read in reads.iter().filter(|r| r.mapq >= o.min_mapq) {
            let good = |i: usize| {
                matches!(read.bases[i], b'A' | b'C' | b'G' | b'T')
                    && read.quals[i] >= o.min_base_quality
            };
            let mut i = 0;
            while i < read.bases.len() {
                let end = (i..read.bases.len())
                    .find(|&j| !good(j))
                    .unwrap_or(read.bases.len());
                if end - i > k {
                    g.add_path(&read.bases[i..end], false);
                }
                i = end + 1;
            }
        }
        g
    }

    fn vertex(&mut self, kmer: &'a [u8]) -> usize {
        if let Some(&v) = self.index.get(kmer) {
            return v;
        }
        self.kmers.push(kmer);
        self.out.push(Vec::new());
        self.index.insert(kmer, self.kmers.len() - 1);
        self.kmers.len() - 1
    }

    /// Adds an edge between each pair of consecutive k-mers of `bases` (at least k + 1 long).
    fn add_path(&mut self, bases: &'a [u8], is_ref: bool) {
        let k = self.k;
        let mut prev = self.vertex(&bases[..k]);
        for i in 1..=bases.len() - k {
            let cur = self.vertex(&bases[i..i + k]);
            match self.out[prev].iter_mut().find(|e| e.to == cur) {
                Some(e) => {
                    e.weight += 1;
                    e.is_ref |= is_ref;
                }
                None => self.out[prev].push(Edge {
                    to: cur,
                    weight: 1,
                    is_ref,
                }),
            }
            prev = cur;
        }
    }

    /// Whether any directed cycle exists (iterative depth-first search).
    pub fn has_cycle(&self) -> bool {
        // 0 unvisited, 1 on the stack, 2 done.
        let mut state = vec![0u8; self.kmers.len()];
        for root in 0..self.kmers.len() {
            if state[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            state[root] = 1;
            while let Some(top) = stack.last_mut() {
                let (v, next) = *top;
                if let Some(e) = self.out[v].get(next) {
                    top.1 += 1;
                    match state[e.to] {
                        1 => return true,
                        0 => {
                            state[e.to] = 1;
                            stack.push((e.to, 0));
                        }
                        _ => {}
                    }
                } else {
                    state[v] = 2;
                    stack.pop();
                }
            }
        }
        false
    }

    /// Drops non-reference edges below `min_weight`, then the vertices not on a source-to-sink path.
    fn prune(&mut self, min_weight: u32) {
        for edges in &mut self.out {
            edges.retain(|e| e.is_ref || e.weight >= min_weight);
        }
        let n = self.kmers.len();
        let mut incoming = vec![Vec::new(); n];
        for (v, edges) in self.out.iter().enumerate() {
            for e in edges {
                incoming[e.to].push(v);
            }
        }
        let forward = reachable(self.source, n, |v| {
            self.out[v].iter().map(|e| e.to).collect()
        });
        let backward = reachable(self.sink, n, |v| incoming[v].clone());
        let keep: Vec<bool> = (0..n).map(|v| forward[v] && backward[v]).collect();
        for (v, edges) in self.out.iter_mut().enumerate() {
            if keep[v] {
                edges.retain(|e| keep[e.to]);
            } else {
                edges.clear();
            }
        }
        self.index.retain(|_, v| keep[*v]);
    }

    /// The k-mers (vertices) left in the graph.
    pub fn vertex_count(&self) -> usize {
        self.index.len()
    }

    /// The weight of the edge from `from` to `to`, k-mers of the graph.
    pub fn edge_weight(&self, from: &[u8], to: &[u8]) -> Option<u32> {
        let (a, b) = (*self.index.get(from)?, *self.index.get(to)?);
        self.out[a].iter().find(|e| e.to == b).map(|e| e.weight)
    }

    /// The haplotypes spelled by the source-to-sink paths, sorted; `None` when there are more than
    /// `max_paths`.
    pub fn haplotypes(&self, max_paths: usize) -> Option<Vec<Vec<u8>>> {
        // Paths to the sink from each vertex, saturating just above the cap.
        let mut count: Vec<Option<usize>> = vec![None; self.kmers.len()];
        let cap = max_paths + 1;
        let mut stack = vec![(self.source, false)];
        while let Some((v, expanded)) = stack.pop() {
            if count[v].is_some() {
                continue;
            }
            if v == self.sink {
                count[v] = Some(1);
            } else if expanded {
                let n = self.out[v]
                    .iter()
                    .map(|e| count[e.to].unwrap_or(0))
                    .sum::<usize>();
                count[v] = Some(n.min(cap));
            } else {
                stack.push((v, true));
                stack.extend(
                    self.out[v]
                        .iter()
                        .filter(|e| count[e.to].is_none())
                        .map(|e| (e.to, false)),
                );
            }
        }
        if count[self.source].unwrap_or(0) > max_paths {
            return None;
        }
        let mut out = Vec::new();
        let mut path = vec![self.source];
        self.spell(&mut path, &mut out);
        out.sort();
        Some(out)
    }

    fn spell(&self, path: &mut Vec<usize>, out: &mut Vec<Vec<u8>>) {
        let v = path[path.len() - 1];
        if v == self.sink {
            let mut h: Vec<u8> = path.iter().map(|&u| self.kmers[u][0]).collect();
            h.extend_from_slice(&self.kmers[v][1..]);
            out.push(h);
            return;
        }
        for e in &self.out[v] {
            path.push(e.to);
            self.spell(path, out);
            path.pop();
        }
    }
}

/// Whether `bases` holds some k-mer twice.
fn has_repeated_kmer(bases: &[u8], k: usize) -> bool {
    let mut seen = std::collections::HashSet::new();
    bases.windows(k).any(|w| !seen.insert(w))
}

/// Vertices reachable from `start` following `next`.
fn reachable(start: usize, n: usize, next: impl Fn(usize) -> Vec<usize>) -> Vec<bool> {
    let mut seen = vec![false; n];
    let mut stack = vec![start];
    seen[start] = true;
    while let Some(v) = stack.pop() {
        for u in next(v) {
            if !seen[u] {
                seen[u] = true;
                stack.push(u);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tensorize::pileup::read::CigarOp;
    use noodles::sam::alignment::record::cigar::op::Kind;

    fn read(bases: &[u8]) -> AlignedRead {
        AlignedRead {
            name: b"r".to_vec(),
            read_number: 0,
            start: 0,
            end: bases.len() as i64,
            reverse: false,
            mapq: 60,
            tlen: 0,
            hp: None,
            cigar: vec![CigarOp {
                kind: Kind::Match,
                len: bases.len(),
            }],
            quals: vec![30; bases.len()],
            bases: bases.to_vec(),
        }
    }

    const REFERENCE: &[u8] = b"TTGCACGGATCCAGTACTGACTGCATAGCCGTAGGCTAAGCTTGACA";

    #[test]
    fn the_reference_alone_is_one_haplotype_at_the_smallest_k() {
        let g = Graph::build(REFERENCE, &[], &GraphOptions::default()).unwrap();
        assert_eq!(g.k, 10);
        assert_eq!(g.vertex_count(), REFERENCE.len() - 9);
        assert_eq!(g.haplotypes(256).unwrap(), vec![REFERENCE.to_vec()]);
    }

    #[test]
    fn a_snp_seen_twice_is_a_haplotype_and_once_is_pruned() {
        let mut alt = REFERENCE.to_vec();
        alt[23] = b'A';
        let alt_read = read(&alt[2..45]);
        let o = GraphOptions::default();
        let g = Graph::build(REFERENCE, &[&alt_read], &o).unwrap();
        assert_eq!(g.haplotypes(256).unwrap(), vec![REFERENCE.to_vec()]);
        let twice = read(&alt[2..45]);
        let g = Graph::build(REFERENCE, &[&alt_read, &twice], &o).unwrap();
        let mut want = vec![REFERENCE.to_vec(), alt.clone()];
        want.sort();
        assert_eq!(g.haplotypes(256).unwrap(), want);
        // Reference edges count the reference once and each read that has them.
        assert_eq!(g.edge_weight(&REFERENCE[..10], &REFERENCE[1..11]), Some(1));
        assert_eq!(g.edge_weight(&REFERENCE[2..12], &REFERENCE[3..13]), Some(3));
        assert_eq!(g.haplotypes(1), None, "two paths exceed a cap of one");
    }

    #[test]
    fn low_quality_bases_break_kmers() {
        let mut alt = REFERENCE.to_vec();
        alt[23] = b'A';
        let mut reads = vec![read(&alt[2..45]), read(&alt[2..45])];
        for r in &mut reads {
            r.quals[21] = 5;
        }
        let refs: Vec<&AlignedRead> = reads.iter().collect();
        let g = Graph::build(REFERENCE, &refs, &GraphOptions::default()).unwrap();
        // The SNP base itself has quality 5: no k-mer spans it.
        assert_eq!(g.haplotypes(256).unwrap(), vec![REFERENCE.to_vec()]);
    }

    #[test]
    fn a_reference_repeat_raises_k_until_it_is_unique() {
        // A 12-base unit twice: k-mers up to 12 repeat.
        let unit = b"ACGTTAGCCATG";
        let reference = [&b"GGATC"[..], unit, b"T", unit, b"CCAGT"].concat();
        let g = Graph::build(&reference, &[], &GraphOptions::default()).unwrap();
        assert_eq!(g.k, 13);
        assert_eq!(g.haplotypes(256).unwrap(), vec![reference]);
    }

    #[test]
    fn reads_that_close_a_cycle_at_every_k_give_no_graph() {
        // The reference has one copy of a 20-base unit, reads have three: at every k up to the window
        // length − 1 the reads' k-mers loop.
        let unit = b"ACGTTAGCCATGGCTAACGT";
        let reference = [&b"GATCCA"[..], unit, b"TTGCAG"].concat();
        let expanded = [&b"GATCCA"[..], unit, unit, unit, b"TTGCAG"].concat();
        let reads = [read(&expanded), read(&expanded)];
        let refs: Vec<&AlignedRead> = reads.iter().collect();
        assert!(Graph::build(&reference, &refs, &GraphOptions::default()).is_none());
    }
}
