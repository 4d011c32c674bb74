//! Repeated keys: a pass over the YAML events (yaml-rust2's parser, which marks each event's line and
//! column) before the typed parse, because serde fills an `IndexMap` silently with the later value and
//! serde_yaml's own check of a `Mapping` names only the second line.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};

/// A key that appears twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The keys leading to the mapping, e.g. `stages.train.params` (empty at the top).
    pub path: String,
    /// The repeated key.
    pub key: String,
    /// Line and column (1-based) of its first appearance.
    pub first: (usize, usize),
    /// Line and column (1-based) of the repetition.
    pub second: (usize, usize),
}

/// One open collection while walking the events.
enum Frame {
    /// A mapping: the scalar keys seen so far (with where), whether the next node is a key, and the
    /// key whose value is being read.
    Mapping {
        seen: HashMap<String, (usize, usize)>,
        expect_key: bool,
        current: Option<String>,
    },
    /// A sequence.
    Sequence,
}

/// The first repeated key of `text`, if any. Text the event parser cannot read gives `None`: the
/// typed parse that follows reports the syntax error in its established words.
pub fn find_duplicate(text: &str) -> Option<DuplicateKey> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        let (event, mark) = parser.next_token().ok()?;
        let at = (mark.line(), mark.col() + 1);
        match event {
            Event::StreamEnd => return None,
            Event::Scalar(value, ..) => {
                if let Some(Frame::Mapping {
                    seen,
                    expect_key: true,
                    ..
                }) = stack.last()
                {
                    if let Some(&first) = seen.get(&value) {
                        return Some(DuplicateKey {
                            path: path_of(&stack[..stack.len() - 1]),
                            key: value,
                            first,
                            second: at,
                        });
                    }
                }
                node_done(&mut stack, Some((value, at)));
            }
            Event::Alias(_) => node_done(&mut stack, None),
            Event::MappingStart(..) => stack.push(Frame::Mapping {
                seen: HashMap::new(),
                expect_key: true,
                current: None,
            }),
            Event::SequenceStart(..) => stack.push(Frame::Sequence),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                node_done(&mut stack, None);
            }
            _ => {}
        }
    }
}

/// Notes that a node ended inside the innermost collection: in a mapping, a key (recorded when it is a
/// scalar) or a value, alternately.
fn node_done(stack: &mut [Frame], scalar: Option<(String, (usize, usize))>) {
    if let Some(Frame::Mapping {
        seen,
        expect_key,
        current,
    }) = stack.last_mut()
    {
        if *expect_key {
            *current = scalar.as_ref().map(|(k, _)| k.clone());
            if let Some((key, at)) = scalar {
                seen.insert(key, at);
            }
        } else {
            *current = None;
        }
        *expect_key = !*expect_key;
    }
}

/// The dotted keys of the open mappings (a sequence adds nothing).
fn path_of(stack: &[Frame]) -> String {
    stack
        .iter()
        .filter_map(|f| match f {
            Frame::Mapping { current, .. } => current.as_deref(),
            Frame::Sequence => None,
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_stage_names_both_lines() {
        let text =
            "name: x\nstages:\n  a: { cmd: [echo] }\n  b: { cmd: [echo] }\n  a: { cmd: [true] }\n";
        let d = find_duplicate(text).unwrap();
        assert_eq!(d.path, "stages");
        assert_eq!(d.key, "a");
        assert_eq!(d.first, (3, 3));
        assert_eq!(d.second, (5, 3));
    }

    #[test]
    fn repeated_param_in_a_flow_mapping() {
        let text = "name: x\nstages:\n  a:\n    cmd: [echo]\n    params: {lr: 1, lr: 2}\n";
        let d = find_duplicate(text).unwrap();
        assert_eq!(d.path, "stages.a.params");
        assert_eq!((d.first.0, d.second.0), (5, 5));
    }

    #[test]
    fn same_key_in_sibling_mappings_is_fine() {
        let text = "a: {x: 1}\nb: {x: 1}\nl:\n  - {k: 1}\n  - {k: 2}\nk: [k, k]\n";
        assert_eq!(find_duplicate(text), None);
    }

    #[test]
    fn unreadable_text_is_left_to_the_typed_parse() {
        assert_eq!(find_duplicate("a: [1, 2\n"), None);
    }
}
